/* gen.c - the load benchmark's data generator (build/bench-gen).
 *
 * Fills a fresh SQLite database through the store API (not HTTP, which
 * would take far longer) with W workspaces, one group of API keys per
 * workspace, C companies per workspace and N contacts spread round-robin
 * over the workspaces, so every workspace's rows interleave in rid order as
 * they would on a shared server. Data is varied and deterministic for a
 * given --seed: names, emails on the company's domain, statuses (mostly
 * active), owners, countries, some notes and custom fields.
 *
 * Sales data follows: every workspace gets its default pipeline
 * (engine_workspace_created, as the server does); D deals go to the first
 * workspace's default pipeline, so its dashboard faces all of them (stages
 * mostly open; won and lost deals closed in the last 120 days; increasing
 * ranks within each stage), and some tasks and
 * leads per workspace for the dashboard's aggregates. The first workspace
 * also holds a second pipeline, "Board", with B deals of its own, which the
 * board and move scenarios use, and 16 more keys for those scenarios and
 * the dashboard's: they load one workspace from 32 connections, more than
 * K keys carry under the server's default per-key concurrency limit.
 *
 * Revenue and support data go to workspaces of their own (as far as
 * there are: with fewer, they share one). The second workspace's ledger:
 * the default chart (the accounting workspace hook's) plus the accounts a
 * small company adds, and J journal lines in balanced posted entries of
 * two to four lines (sales, invoices, payments, bills, payroll, expenses,
 * ...) spread evenly over the last 365 days, each entry with its `lines`
 * as the server keeps them; the journal lines' rollups (per account, side
 * and day, and per account and side, which balances and the trial balance
 * read) are recounted from them, as for the deals. The third workspace's support desk: four queues
 * with their SLA targets and T tickets created evenly over the last 365
 * days, most answered and resolved (some late), the recent ones still in
 * the works, their SLA clocks and status computed as the server's would
 * be at generation time.
 *
 * Two more workspaces of their own follow. bench-cms: a site, a
 * collection of articles (title, a unique slug, summary, markdown body,
 * category, author, reading time) and E entries with titles over topics
 * drawn Zipf-wise (so searches find from a handful to a fifth of them),
 * each with its first revision and the search text cms.c keeps. bench-bi:
 * B contacts, as the others but with ISO country codes skewed as a
 * US-based company's customers are (40 countries and 3% none), read by
 * BI's count by country.
 *
 * Besides the database it writes what the wrk scripts need: a Lua file
 * (tokens, the workspace of each token, a few hundred contact ids per
 * workspace sampled uniformly over the whole table, search queries, the
 * board pipeline with its keys, stages, pinned anchor deals and movable
 * deals, the dashboard's, ledger's and tickets' workspaces) and a shell
 * file with the ids and tokens of run.sh's curl checks.
 *
 * usage: bench-gen --db PATH --lua PATH --sh PATH [--contacts N] [--deals D]
 *                  [--board-deals B] [--tasks T] [--leads L] [--workspaces W]
 *                  [--companies C] [--keys K] [--journal-lines J] [--tickets T]
 *                  [--cms-entries E] [--bi-contacts B] [--seed S]
 *        bench-gen --version */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "resources/engine.h"
#include "store/search.h"
#include "store/store.h"

/* Bump when the generated data or its schema changes shape: run.sh
 * regenerates then (9: optional fields' partial indexes, which a server
 * would otherwise rebuild on every start of a copied database). */
#define GEN_VERSION 9
#define BATCH       10000
#define SAMPLE_IDS  300
#define MAX_WS      64
#define MAX_KEYS    16
#define NSTAGES     5  /* stages of a pipeline, as the sales workspace hook seeds them */
#define NOPEN       3  /* the first NOPEN of them are open */
#define ANCHORS     25 /* pinned deals per open stage of the board pipeline */
#define BOARD_KEYS  16 /* keys of the first workspace for the board, move, dashboard */
#define DAY_MS      (86400ll * 1000)

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: fast, and reproducible for a given seed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(a)  ((a)[below(NELEM(a))])

/* ------------------------------------------------------------ word lists */

static const char *const first_names[] = {
    "James",     "Mary",     "John",      "Patricia",  "Robert",    "Jennifer", "Michael",
    "Linda",     "William",  "Elizabeth", "David",     "Barbara",   "Richard",  "Susan",
    "Joseph",    "Jessica",  "Thomas",    "Sarah",     "Charles",   "Karen",    "Chris",
    "Nancy",     "Daniel",   "Lisa",      "Matthew",   "Betty",     "Anthony",  "Margaret",
    "Mark",      "Sandra",   "Donald",    "Ashley",    "Steven",    "Kimberly", "Paul",
    "Emily",     "Andrew",   "Donna",     "Joshua",    "Michelle",  "Kenneth",  "Carol",
    "Kevin",     "Amanda",   "Brian",     "Melissa",   "George",    "Deborah",  "Timothy",
    "Stephanie", "Ronald",   "Rebecca",   "Jason",     "Sharon",    "Edward",   "Laura",
    "Jeffrey",   "Cynthia",  "Ryan",      "Amy",       "Jacob",     "Kathleen", "Gary",
    "Angela",    "Nicholas", "Shirley",   "Eric",      "Anna",      "Jonathan", "Brenda",
    "Stephen",   "Pamela",   "Larry",     "Emma",      "Justin",    "Nicole",   "Scott",
    "Helen",     "Brandon",  "Samantha",  "Benjamin",  "Katherine", "Samuel",   "Christine",
    "Gregory",   "Debra",    "Alexander", "Rachel",    "Frank",     "Carolyn",  "Patrick",
    "Janet",     "Raymond",  "Maria",     "Jack",      "Olivia",    "Dennis",   "Heather",
    "Jerry",     "Diane",    "Tyler",     "Julie",     "Aaron",     "Joyce",    "Jose",
    "Victoria",  "Adam",     "Ruth",      "Nathan",    "Virginia",  "Henry",    "Lauren",
    "Zachary",   "Kelly",    "Douglas",   "Christina", "Peter",     "Joan",     "Kyle",
    "Evelyn",    "Noah",     "Judith",    "Ethan",     "Andrea",    "Jeremy",   "Hannah",
    "Walter",    "Megan",    "Sofia",     "Lucas",     "Mateo",     "Chloe",    "Yuki",
    "Hiroshi",   "Priya",    "Arjun",     "Wei",       "Mei",       "Lars",     "Ingrid",
    "Pierre",    "Camille",  "Giulia",    "Marco",
};

static const char *const last_names[] = {
    "Smith",    "Johnson",   "Williams",   "Brown",     "Jones",    "Garcia",   "Miller",
    "Davis",    "Rodriguez", "Martinez",   "Hernandez", "Lopez",    "Gonzalez", "Wilson",
    "Anderson", "Thomas",    "Taylor",     "Moore",     "Jackson",  "Martin",   "Lee",
    "Perez",    "Thompson",  "White",      "Harris",    "Sanchez",  "Clark",    "Ramirez",
    "Lewis",    "Robinson",  "Walker",     "Young",     "Allen",    "King",     "Wright",
    "Scott",    "Torres",    "Nguyen",     "Hill",      "Flores",   "Green",    "Adams",
    "Nelson",   "Baker",     "Hall",       "Rivera",    "Campbell", "Mitchell", "Carter",
    "Roberts",  "Gomez",     "Phillips",   "Evans",     "Turner",   "Diaz",     "Parker",
    "Cruz",     "Edwards",   "Collins",    "Reyes",     "Stewart",  "Morris",   "Morales",
    "Murphy",   "Cook",      "Rogers",     "Gutierrez", "Ortiz",    "Morgan",   "Cooper",
    "Peterson", "Bailey",    "Reed",       "Kelly",     "Howard",   "Ramos",    "Kim",
    "Cox",      "Ward",      "Richardson", "Watson",    "Brooks",   "Chavez",   "Wood",
    "James",    "Bennett",   "Gray",       "Mendoza",   "Ruiz",     "Hughes",   "Price",
    "Alvarez",  "Castillo",  "Sanders",    "Patel",     "Myers",    "Long",     "Ross",
    "Foster",   "Jimenez",   "Schmidt",    "Mueller",   "Rossi",    "Dubois",   "Tanaka",
    "Sato",     "Kowalski",  "Novak",      "Jensen",    "Larsen",   "Silva",    "Costa",
};

static const char *const co_adj[] = {
    "Northwind", "Blue",     "Acme",    "Summit",   "Silver", "Bright",  "Green",     "Iron",
    "Golden",    "Rapid",    "Pioneer", "Atlas",    "Nova",   "Crimson", "Evergreen", "Polar",
    "Granite",   "Coastal",  "Stellar", "Quantum",  "Urban",  "Prairie", "Redwood",   "Harbor",
    "Falcon",    "Cedar",    "Horizon", "Vertex",   "Lumen",  "Orbit",   "Sterling",  "Maple",
    "Beacon",    "Crystal",  "Delta",   "Echo",     "Fusion", "Global",  "Hyper",     "Infinite",
    "Juniper",   "Keystone", "Liberty", "Meridian", "Nimbus", "Oak",     "Pacific",   "Royal",
    "Sapphire",  "Titan",
};

static const char *const co_noun[] = {
    "Logistics", "Systems",      "Labs",       "Foods",     "Analytics",  "Media",    "Robotics",
    "Energy",    "Capital",      "Health",     "Software",  "Partners",   "Dynamics", "Networks",
    "Solutions", "Ventures",     "Works",      "Designs",   "Brands",     "Motors",   "Pharma",
    "Textiles",  "Studios",      "Consulting", "Holdings",  "Industries", "Retail",   "Security",
    "Cloud",     "Data",         "Finance",    "Insurance", "Travel",     "Apparel",  "Biotech",
    "Chemicals", "Construction", "Education",  "Farms",     "Games",      "Hotels",   "Imports",
    "Marine",    "Metals",       "Optics",     "Payments",  "Realty",     "Telecom",  "Water",
    "Wireless",
};

static const char *const co_suffix[] = {"Inc", "Ltd", "GmbH", "LLC"};
static const char *const co_tld[] = {"com", "io", "de", "net"};

static const char *const industries[] = {
    "Software",  "Manufacturing", "Retail", "Healthcare",  "Finance",      "Logistics",
    "Education", "Media",         "Energy", "Hospitality", "Construction", "Telecom",
};

static const char *const titles[] = {
    "CEO",
    "CTO",
    "CFO",
    "VP Sales",
    "VP Marketing",
    "Head of Ops",
    "Engineer",
    "Senior Engineer",
    "Product Manager",
    "Designer",
    "Account Executive",
    "Sales Manager",
    "Buyer",
    "Procurement Lead",
    "Office Manager",
    "Consultant",
    "Analyst",
    "Director",
    "Founder",
    "Support Lead",
};

static const char *const countries[][2] = {
    {"United States", "New York"}, {"United States", "Austin"},
    {"United Kingdom", "London"},  {"Germany", "Berlin"},
    {"Germany", "Munich"},         {"France", "Paris"},
    {"Spain", "Madrid"},           {"Italy", "Milan"},
    {"Netherlands", "Amsterdam"},  {"Sweden", "Stockholm"},
    {"Poland", "Warsaw"},          {"Canada", "Toronto"},
    {"Mexico", "Mexico City"},     {"Brazil", "Sao Paulo"},
    {"Argentina", "Buenos Aires"}, {"Japan", "Tokyo"},
    {"India", "Bangalore"},        {"Australia", "Sydney"},
    {"Singapore", "Singapore"},    {"South Africa", "Cape Town"},
    {"Ireland", "Dublin"},         {"Denmark", "Copenhagen"},
};

static const char *const currencies[] = {"USD", "EUR", "GBP", "JPY", "CAD"};
static const char *const free_mail[] = {"gmail.com", "outlook.com", "yahoo.com", "proton.me"};
static const char *const lifecycle[] = {"subscriber", "lead",       "opportunity",
                                        "customer",   "evangelist", "other"};
static const char *const owners[] = {"usr_alice", "usr_bob",   "usr_carol", "usr_dave",
                                     "usr_erin",  "usr_frank", "usr_grace", "usr_heidi"};
static const char *const notes[] = {
    "Met at the trade fair; follow up about the enterprise plan.",
    "Prefers email over phone. Renewal due next quarter.",
    "Asked for a demo of the reporting module.",
    "Introduced by a partner; budget approved for this year.",
    "Churn risk: support tickets about onboarding.",
};
static const char *const tiers[] = {"gold", "silver", "bronze"};
static const char *const sources[] = {"webinar", "referral", "ads", "event", "organic"};

/* The stages the sales workspace hook seeds (pipelines.c), in board order, with
 * the share of generated deals each holds: mostly open, fewer further on. */
static const struct {
    const char *name, *key, *type;
    int64_t position;
    unsigned weight;
} stage_defs[NSTAGES] = {
    {"Qualification", "qualification", "open", 1, 30},
    {"Proposal", "proposal", "open", 2, 22},
    {"Negotiation", "negotiation", "open", 3, 13},
    {"Won", "won", "won", 1000000, 20},
    {"Lost", "lost", "lost", 1000001, 15},
};

static const char *const products[] = {
    "Enterprise plan", "Team plan",       "Renewal",
    "Expansion",       "Pilot",           "Support contract",
    "Onboarding",      "Annual licence",  "Professional services",
    "Upgrade",         "Multi-year deal", "Add-on seats",
};
static const char *const deal_notes[] = {
    "Decision maker is the CFO; legal review expected to take two weeks.",
    "Competing with an incumbent vendor; price is the main objection.",
    "Champion moved teams; need a new sponsor.",
    "Security questionnaire sent back, waiting on procurement.",
};
static const char *const task_verbs[] = {
    "Call",  "Send proposal to",     "Follow up with",        "Prepare demo for",
    "Email", "Review contract with", "Schedule meeting with", "Send invoice to",
};
static const char *const task_status[] = {"open", "completed", "canceled"};
static const unsigned task_status_w[] = {55, 35, 10};
static const char *const task_priority[] = {"low", "normal", "high", "urgent"};
static const unsigned task_priority_w[] = {20, 50, 22, 8};
static const char *const lead_status[] = {"new", "working", "qualified", "disqualified",
                                          "converted"};
static const unsigned lead_status_w[] = {35, 25, 15, 15, 10};
static const char *const lead_source[] = {"manual", "website", "referral", "campaign",
                                          "import", "api",     "mcp",      "other"};
static const unsigned lead_source_w[] = {15, 30, 15, 15, 10, 8, 2, 5};

/* ---------------------------------------------------------------- helpers */

static void lower(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] + 32) : src[i];
    dst[i] = '\0';
}

static store_val text(const char *s)
{
    return (store_val){.kind = s ? SV_TEXT : SV_NULL, .s = s};
}
static store_val integer(int64_t i)
{
    return (store_val){.kind = SV_INT, .i = i};
}

static int field(const res_def *r, const char *name)
{
    int i = res_field_index(r, name);
    if (i < 0) {
        fprintf(stderr, "bench-gen: resource %s has no field %s\n", r->name, name);
        exit(1);
    }
    return i;
}

static void check(int rc, const store_err *e, const char *what)
{
    if (rc == STORE_OK) return;
    fprintf(stderr, "bench-gen: %s: %s\n", what, e->msg);
    exit(1);
}

static double now_s(void)
{
    return (double)time_mono_ns() / 1e9;
}

/* An index into weights[0..n) drawn in proportion to them. */
static size_t weighted(const unsigned *weights, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += weights[i];
    uint64_t x = below(total);
    for (size_t i = 0; i < n; i++) {
        if (x < weights[i]) return i;
        x -= weights[i];
    }
    return n - 1;
}

/* YYYY-MM-DD (UTC) of an epoch time in ms. */
static void date_of(int64_t ms, char out[16])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

/* The n-th rank of a stage (n from 0): "i" and five base-36 digits, the
 * last never '0' (the server's ranks never end in '0'), so ranks are fixed
 * width, sort byte-wise in generation order and leave room between them
 * for the midpoints a move computes. Good for 36^4 * 35 deals per stage. */
static void rank_of(long n, char out[8])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    long hi = n / 35;
    out[0] = 'i';
    for (int i = 4; i >= 1; i--, hi /= 36)
        out[i] = digits[hi % 36];
    out[5] = digits[1 + n % 35];
    out[6] = '\0';
}

/* ------------------------------------------------------------------ model */

typedef struct company {
    char id[ID_MAX];
    char name[96];
    char domain[96];
} company;

/* A pipeline: its stages in stage_defs order and how many deals each got
 * (which is also the next rank to hand out there). */
typedef struct pipeline {
    char id[ID_MAX];
    char stage[NSTAGES][ID_MAX];
    long count[NSTAGES];
} pipeline;

typedef struct wspace {
    store_workspace ws;
    char tokens[MAX_KEYS][64];
    company *companies;
    char (*sample)[ID_MAX];  /* reservoir of contact ids */
    int64_t seen;            /* contacts in this workspace so far */
    pipeline sales;          /* the default pipeline */
    char (*dsample)[ID_MAX]; /* reservoir of deal ids, for tasks */
    int64_t deals;           /* deals in this workspace so far */
} wspace;

/* The board pipeline's deals in generation (= rank) order per stage. */
typedef struct board {
    pipeline p;
    char tokens[BOARD_KEYS][64];
    char (*ids)[ID_MAX];
    unsigned char *stage;
    bool *anchor;
    long n;
} board;

typedef struct params {
    const char *db, *lua, *sh;
    long contacts, workspaces, companies, keys, deals, board_deals, tasks, leads;
    long journal_lines, tickets, cms_entries, bi_contacts;
    uint64_t seed;
} params;

static void usage(void)
{
    fputs("usage: bench-gen --db PATH --lua PATH --sh PATH [--contacts N] [--deals D]\n"
          "                 [--board-deals B] [--tasks T] [--leads L] [--workspaces W]\n"
          "                 [--companies C] [--keys K] [--journal-lines J] [--tickets T]\n"
          "                 [--cms-entries E] [--bi-contacts B] [--seed S]\n"
          "       bench-gen --version\n"
          "  --contacts    contacts, round-robin over the workspaces (default 1000000)\n"
          "  --deals       deals in the first workspace's default pipeline (default 200000)\n"
          "  --board-deals deals in the first workspace's Board pipeline (default 10000)\n"
          "  --tasks       tasks per workspace (default 3000)\n"
          "  --leads       leads per workspace (default 2000)\n"
          "  --companies   companies per workspace (default: contacts per workspace / 10,\n"
          "                at most 10000)\n"
          "  --keys        API keys per workspace (default 4)\n"
          "  --journal-lines  journal lines in the ledger workspace (the second; default\n"
          "                1000000)\n"
          "  --tickets     tickets in the support workspace (the third; default 1000000)\n"
          "  --cms-entries entries of the CMS workspace's collection (bench-cms, a\n"
          "                workspace of its own; default 100000)\n"
          "  --bi-contacts contacts of the BI workspace (bench-bi, a workspace of its\n"
          "                own; default 1000000)\n",
          stderr);
}

static long num_arg(const char *flag, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi) {
        fprintf(stderr, "bench-gen: %s wants a number from %ld to %ld\n", flag, lo, hi);
        exit(2);
    }
    return n;
}

static void parse_args(int argc, char **argv, params *p)
{
    *p = (params){.contacts = 1000000,
                  .workspaces = 10,
                  .companies = -1,
                  .keys = 4,
                  .deals = 200000,
                  .board_deals = 10000,
                  .tasks = 3000,
                  .leads = 2000,
                  .journal_lines = 1000000,
                  .tickets = 1000000,
                  .cms_entries = 100000,
                  .bi_contacts = 1000000,
                  .seed = 42};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--version")) {
            printf("%d\n", GEN_VERSION);
            exit(0);
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            exit(0);
        }
        if (i + 1 >= argc) {
            usage();
            exit(2);
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--db"))
            p->db = v;
        else if (!strcmp(a, "--lua"))
            p->lua = v;
        else if (!strcmp(a, "--sh"))
            p->sh = v;
        else if (!strcmp(a, "--contacts"))
            p->contacts = num_arg(a, v, 1, 100000000);
        else if (!strcmp(a, "--deals"))
            p->deals = num_arg(a, v, 0, 100000000);
        else if (!strcmp(a, "--board-deals"))
            p->board_deals = num_arg(a, v, 100, 10000000);
        else if (!strcmp(a, "--tasks"))
            p->tasks = num_arg(a, v, 0, 10000000);
        else if (!strcmp(a, "--leads"))
            p->leads = num_arg(a, v, 0, 10000000);
        else if (!strcmp(a, "--journal-lines"))
            p->journal_lines = num_arg(a, v, 0, 100000000);
        else if (!strcmp(a, "--tickets"))
            p->tickets = num_arg(a, v, 0, 100000000);
        else if (!strcmp(a, "--cms-entries"))
            p->cms_entries = num_arg(a, v, 1, 100000000);
        else if (!strcmp(a, "--bi-contacts"))
            p->bi_contacts = num_arg(a, v, 1, 100000000);
        else if (!strcmp(a, "--workspaces"))
            p->workspaces = num_arg(a, v, 1, MAX_WS);
        else if (!strcmp(a, "--companies"))
            p->companies = num_arg(a, v, 1, 1000000);
        else if (!strcmp(a, "--keys"))
            p->keys = num_arg(a, v, 1, MAX_KEYS);
        else if (!strcmp(a, "--seed"))
            p->seed = (uint64_t)num_arg(a, v, 1, 1L << 30);
        else {
            usage();
            exit(2);
        }
    }
    if (!p->db || !p->lua || !p->sh) {
        usage();
        exit(2);
    }
    if (p->journal_lines == 1) {
        fprintf(stderr, "bench-gen: --journal-lines wants 0 or at least 2 (an entry has two)\n");
        exit(2);
    }
    if (p->companies < 0) {
        long per_ws = p->contacts / p->workspaces / 10;
        p->companies = per_ws < 1 ? 1 : per_ws > 10000 ? 10000 : per_ws;
    }
}

/* ---------------------------------------------------------------- writing */

#define CRM_SCOPES "crm:read crm:write tasks:read support:read"

/* nkeys keys of workspace ws named <name>-<k> with `scopes`; their tokens
 * into tokens, the first one's id into first_id (when given). */
static void make_keys_with(store_conn *c, const char *ws, const char *name, long nkeys,
                           const char *scopes, char (*tokens)[64], char *first_id)
{
    for (long k = 0; k < nkeys; k++) {
        store_key key = {0};
        id_new(key.id, "key");
        if (k == 0 && first_id) memcpy(first_id, key.id, ID_MAX);
        snprintf(key.workspace_id, sizeof key.workspace_id, "%s", ws);
        snprintf(key.name, sizeof key.name, "%s-%ld", name, k);
        snprintf(key.scopes, sizeof key.scopes, "%s", scopes);
        key.max_concurrent = -1; /* the server's defaults apply, as for any key */
        key.rate = -1;
        key.created_ms = (int64_t)time_now_ms();
        token_new(tokens[k]);
        char hash[TOKEN_HASH_HEX];
        sha256_hex(tokens[k], strlen(tokens[k]), hash);
        store_err e;
        check(store_key_create(c, &key, hash, &e), &e, "key create");
    }
}

static void make_keys(store_conn *c, const char *ws, const char *name, long nkeys,
                      char (*tokens)[64])
{
    make_keys_with(c, ws, name, nkeys, CRM_SCOPES, tokens, NULL);
}

static void gen_company(const res_def *r, store_val *v, company *co, long k)
{
    static int f_name = -1, f_domain, f_website, f_industry, f_phone, f_emp, f_rev, f_cur, f_owner,
               f_status, f_city, f_country, f_notes;
    if (f_name < 0) {
        f_name = field(r, "name"), f_domain = field(r, "domain"), f_website = field(r, "website");
        f_industry = field(r, "industry"), f_phone = field(r, "phone");
        f_emp = field(r, "employee_count"), f_rev = field(r, "annual_revenue_cents");
        f_cur = field(r, "currency"), f_owner = field(r, "owner_id"), f_status = field(r, "status");
        f_city = field(r, "city"), f_country = field(r, "country"), f_notes = field(r, "notes");
    }
    static char website[128], phone[32];
    const size_t na = NELEM(co_adj), nn = NELEM(co_noun), ns = NELEM(co_suffix);
    const char *adj = co_adj[k % (long)na], *noun = co_noun[(k / (long)na) % (long)nn];
    long round = k / (long)(na * nn);
    char a[32], n[32];
    lower(a, sizeof a, adj);
    lower(n, sizeof n, noun);
    if (round < (long)ns) {
        snprintf(co->name, sizeof co->name, "%s %s %s", adj, noun, co_suffix[round]);
        snprintf(co->domain, sizeof co->domain, "%s%s.%s", a, n, co_tld[round]);
    } else {
        snprintf(co->name, sizeof co->name, "%s %s %ld", adj, noun, round);
        snprintf(co->domain, sizeof co->domain, "%s%s%ld.com", a, n, round);
    }
    snprintf(website, sizeof website, "https://www.%s", co->domain);
    snprintf(phone, sizeof phone, "+1 555 %03" PRIu64 " %04" PRIu64, below(1000), below(10000));
    const char *const *place = countries[below(NELEM(countries))];
    for (int i = 0; i < r->nfields; i++)
        v[i] = (store_val){.kind = SV_NULL};
    v[f_name] = text(co->name);
    v[f_domain] = text(co->domain);
    v[f_website] = text(website);
    v[f_industry] = text(PICK(industries));
    v[f_phone] = text(phone);
    v[f_emp] = integer((int64_t)(1 + below(5000)));
    v[f_rev] = integer((int64_t)below(50000000) * 10000);
    v[f_cur] = text(PICK(currencies));
    v[f_owner] = text(PICK(owners));
    v[f_status] = text(below(20) ? "active" : "inactive");
    v[f_city] = text(place[1]);
    v[f_country] = text(place[0]);
    v[f_notes] = text(below(10) ? NULL : PICK(notes));
}

/* Fills v (one value per contact field) and *custom; strings live in static
 * buffers that stay valid until the next call. */
static void gen_contact(const res_def *r, store_val *v, const char **custom, const wspace *w,
                        long ncompanies, long serial)
{
    static int f_first = -1, f_last, f_name, f_email, f_phone, f_title, f_cid, f_cname, f_owner,
               f_status, f_stage, f_city, f_country, f_notes;
    if (f_first < 0) {
        f_first = field(r, "first_name"), f_last = field(r, "last_name"), f_name = field(r, "name");
        f_email = field(r, "email"), f_phone = field(r, "phone"), f_title = field(r, "title");
        f_cid = field(r, "company_id"), f_cname = field(r, "company_name");
        f_owner = field(r, "owner_id"), f_status = field(r, "status");
        f_stage = field(r, "lifecycle_stage"), f_city = field(r, "city");
        f_country = field(r, "country"), f_notes = field(r, "notes");
    }
    static char name[256], email[256], phone[32], fl[64], ll[64], cf[128];
    const char *first = PICK(first_names), *last = PICK(last_names);
    const company *co = below(100) < 85 ? &w->companies[below((uint64_t)ncompanies)] : NULL;
    lower(fl, sizeof fl, first);
    lower(ll, sizeof ll, last);
    snprintf(name, sizeof name, "%s %s", first, last);
    snprintf(email, sizeof email, "%s.%s%ld@%s", fl, ll, serial, co ? co->domain : PICK(free_mail));
    snprintf(phone, sizeof phone, "+%" PRIu64 " %03" PRIu64 " %07" PRIu64, 1 + below(60),
             below(1000), below(10000000));
    const char *const *place = countries[below(NELEM(countries))];
    uint64_t st = below(100);
    for (int i = 0; i < r->nfields; i++)
        v[i] = (store_val){.kind = SV_NULL};
    v[f_first] = text(first);
    v[f_last] = text(last);
    v[f_name] = text(name);
    v[f_email] = text(below(100) < 95 ? email : NULL);
    v[f_phone] = text(below(100) < 70 ? phone : NULL);
    v[f_title] = text(below(100) < 80 ? PICK(titles) : NULL);
    v[f_cid] = text(co ? co->id : NULL);
    v[f_cname] = text(co ? co->name : NULL);
    v[f_owner] = text(PICK(owners));
    v[f_status] = text(st < 85 ? "active" : st < 95 ? "inactive" : "archived");
    v[f_stage] = text(below(100) < 75 ? PICK(lifecycle) : NULL);
    v[f_city] = text(place[1]);
    v[f_country] = text(place[0]);
    v[f_notes] = text(below(100) < 10 ? PICK(notes) : NULL);
    uint64_t c = below(100);
    if (c < 20) {
        snprintf(cf, sizeof cf, "{\"tier\":\"%s\"}", PICK(tiers));
        *custom = cf;
    } else if (c < 30) {
        snprintf(cf, sizeof cf, "{\"source\":\"%s\",\"tier\":\"%s\"}", PICK(sources), PICK(tiers));
        *custom = cf;
    } else {
        *custom = NULL;
    }
}

/* --------------------------------------------------------------- pipelines */

/* Finds the workspace's default pipeline, made by the sales workspace hook, and
 * its stages by key. */
static void load_default_pipeline(store_conn *c, const char *ws, pipeline *p)
{
    const res_def *rp = res_find("pipelines"), *rs = res_find("pipeline-stages");
    arena a;
    arena_init(&a);
    store_err e;
    res_row *rows;
    int n;
    bool more;
    store_filter f = {.field = field(rp, "is_default"), .v = integer(1)};
    store_query q = {.filters = &f, .nfilters = 1, .limit = 1, .link_field = -1};
    check(store_rec_list(c, &a, rp, ws, &q, &rows, &n, &more, &e), &e, "pipeline list");
    if (n != 1) {
        fprintf(stderr, "bench-gen: workspace %s has no default pipeline\n", ws);
        exit(1);
    }
    memset(p, 0, sizeof *p);
    memcpy(p->id, rows[0].id, ID_MAX);
    store_filter sf = {.field = field(rs, "pipeline_id"), .v = text(p->id)};
    store_query sq = {.filters = &sf, .nfilters = 1, .limit = 100, .link_field = -1};
    check(store_rec_list(c, &a, rs, ws, &sq, &rows, &n, &more, &e), &e, "stage list");
    int fk = field(rs, "key"), ft = field(rs, "stage_type");
    for (int k = 0; k < NSTAGES; k++) {
        int i = 0;
        while (i < n && !(rows[i].vals[fk].kind == SV_TEXT &&
                          strcmp(rows[i].vals[fk].s, stage_defs[k].key) == 0 &&
                          rows[i].vals[ft].kind == SV_TEXT &&
                          strcmp(rows[i].vals[ft].s, stage_defs[k].type) == 0))
            i++;
        if (i == n) {
            fprintf(stderr, "bench-gen: the default pipeline has no %s stage '%s'\n",
                    stage_defs[k].type, stage_defs[k].key);
            exit(1);
        }
        memcpy(p->stage[k], rows[i].id, ID_MAX);
    }
    arena_release(&a);
}

/* A second pipeline with the same stages, as POST /v1/pipelines makes one. */
static void create_pipeline(store_conn *c, const char *ws, const char *name, pipeline *p)
{
    const res_def *rp = res_find("pipelines"), *rs = res_find("pipeline-stages");
    store_val v[32];
    if (rp->nfields > 32 || rs->nfields > 32) abort();
    store_err e;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < rp->nfields; i++)
        v[i] = (store_val){.kind = SV_NULL};
    v[field(rp, "name")] = text(name);
    v[field(rp, "description")] = text("Load benchmark: the board and move scenarios");
    v[field(rp, "is_default")] = integer(0);
    res_row row = {.vals = v};
    id_new(row.id, rp->prefix);
    row.created_ms = row.updated_ms = (int64_t)time_now_ms();
    check(store_rec_insert(c, rp, ws, &row, &e), &e, "pipeline insert");
    memcpy(p->id, row.id, ID_MAX);
    for (int k = 0; k < NSTAGES; k++) {
        for (int i = 0; i < rs->nfields; i++)
            v[i] = (store_val){.kind = SV_NULL};
        v[field(rs, "pipeline_id")] = text(p->id);
        v[field(rs, "name")] = text(stage_defs[k].name);
        v[field(rs, "key")] = text(stage_defs[k].key);
        v[field(rs, "stage_type")] = text(stage_defs[k].type);
        v[field(rs, "position")] = integer(stage_defs[k].position);
        res_row st = {.vals = v};
        id_new(st.id, rs->prefix);
        st.created_ms = st.updated_ms = row.created_ms;
        check(store_rec_insert(c, rs, ws, &st, &e), &e, "stage insert");
        memcpy(p->stage[k], st.id, ID_MAX);
    }
}

/* ------------------------------------------------------------ sales rows */

/* Fills v for a deal of pipeline p (appended last in its stage); returns
 * the stage's index. Strings live in static buffers. */
static int gen_deal(const res_def *r, store_val *v, const wspace *w, pipeline *p, long ncompanies,
                    int64_t now_ms)
{
    static int f_name = -1, f_cid, f_ctid, f_pipe, f_stage_id, f_stage, f_amount, f_cur, f_close,
               f_owner, f_status, f_closed, f_pos, f_notes;
    if (f_name < 0) {
        f_name = field(r, "name"), f_cid = field(r, "company_id"), f_ctid = field(r, "contact_id");
        f_pipe = field(r, "pipeline_id"), f_stage_id = field(r, "stage_id");
        f_stage = field(r, "stage"), f_amount = field(r, "amount_cents");
        f_cur = field(r, "currency"), f_close = field(r, "close_date");
        f_owner = field(r, "owner_id"), f_status = field(r, "status");
        f_closed = field(r, "closed_at"), f_pos = field(r, "position");
        f_notes = field(r, "notes");
    }
    static char name[256], close[16], rank[8];
    unsigned weights[NSTAGES];
    for (int k = 0; k < NSTAGES; k++)
        weights[k] = stage_defs[k].weight;
    int k = (int)weighted(weights, NSTAGES);
    bool open = strcmp(stage_defs[k].type, "open") == 0;
    const company *co = below(100) < 90 ? &w->companies[below((uint64_t)ncompanies)] : NULL;
    if (co)
        snprintf(name, sizeof name, "%s - %s", co->name, PICK(products));
    else
        snprintf(name, sizeof name, "%s %s - %s", PICK(first_names), PICK(last_names),
                 PICK(products));
    /* Most deals are small, a few are large: $500 to $500k, whole dollars. */
    uint64_t size = below(100);
    int64_t dollars = size < 60   ? 500 + (int64_t)below(19500)
                      : size < 90 ? 20000 + (int64_t)below(80000)
                                  : 100000 + (int64_t)below(400000);
    uint64_t cur = below(100);
    int64_t closed = open ? 0 : now_ms - (int64_t)below(120 * DAY_MS);
    date_of(open ? now_ms + (int64_t)below(120) * DAY_MS : closed, close);
    rank_of(p->count[k]++, rank);
    for (int i = 0; i < r->nfields; i++)
        v[i] = (store_val){.kind = SV_NULL};
    v[f_name] = text(name);
    v[f_cid] = text(co ? co->id : NULL);
    v[f_ctid] = text(below(100) < 60 && w->seen
                         ? w->sample[below(w->seen < SAMPLE_IDS ? (uint64_t)w->seen : SAMPLE_IDS)]
                         : NULL);
    v[f_pipe] = text(p->id);
    v[f_stage_id] = text(p->stage[k]);
    v[f_stage] = text(stage_defs[k].key);
    v[f_amount] = integer(dollars * 100);
    v[f_cur] = text(cur < 80 ? "USD" : cur < 95 ? "EUR" : "GBP");
    v[f_close] = text(close);
    v[f_owner] = text(PICK(owners));
    v[f_status] = text(stage_defs[k].type);
    v[f_closed] = open ? (store_val){.kind = SV_NULL} : integer(closed);
    v[f_pos] = text(rank);
    v[f_notes] = text(below(100) < 10 ? PICK(deal_notes) : NULL);
    return k;
}

/* Fills v for a task of workspace w: about a deal, contact or company, or
 * nothing; open ones due from 30 days ago (overdue) to 45 days ahead. */
static void gen_task(const res_def *r, store_val *v, const wspace *w, long ncompanies,
                     int64_t now_ms)
{
    static int f_title = -1, f_desc, f_status, f_due, f_assignee, f_prio, f_rtype, f_rid, f_note,
               f_done;
    if (f_title < 0) {
        f_title = field(r, "title"), f_desc = field(r, "description");
        f_status = field(r, "status"), f_due = field(r, "due_at");
        f_assignee = field(r, "assignee_id"), f_prio = field(r, "priority");
        f_rtype = field(r, "related_resource_type"), f_rid = field(r, "related_resource_id");
        f_note = field(r, "completed_note"), f_done = field(r, "completed_at");
    }
    static char title[256];
    for (int i = 0; i < r->nfields; i++)
        v[i] = (store_val){.kind = SV_NULL};
    const company *co = &w->companies[below((uint64_t)ncompanies)];
    uint64_t rel = below(100);
    int64_t nd = w->deals < SAMPLE_IDS ? w->deals : SAMPLE_IDS;
    int64_t nc = w->seen < SAMPLE_IDS ? w->seen : SAMPLE_IDS;
    if (rel < 40 && nd) {
        v[f_rtype] = text("deal");
        v[f_rid] = text(w->dsample[below((uint64_t)nd)]);
    } else if (rel < 65 && nc) {
        v[f_rtype] = text("contact");
        v[f_rid] = text(w->sample[below((uint64_t)nc)]);
    } else if (rel < 80) {
        v[f_rtype] = text("company");
        v[f_rid] = text(co->id);
    }
    if (below(2))
        snprintf(title, sizeof title, "%s %s", PICK(task_verbs), co->name);
    else
        snprintf(title, sizeof title, "%s %s %s", PICK(task_verbs), PICK(first_names),
                 PICK(last_names));
    const char *st = task_status[weighted(task_status_w, NELEM(task_status_w))];
    int64_t due = now_ms - 30 * DAY_MS + (int64_t)below(75 * DAY_MS);
    v[f_title] = text(title);
    v[f_desc] = text(below(100) < 30 ? PICK(notes) : NULL);
    v[f_status] = text(st);
    v[f_due] = below(100) < 90 ? integer(due) : (store_val){.kind = SV_NULL};
    v[f_assignee] = text(PICK(owners));
    v[f_prio] = text(task_priority[weighted(task_priority_w, NELEM(task_priority_w))]);
    if (strcmp(st, "completed") == 0) {
        v[f_done] = integer(now_ms - (int64_t)below(60 * DAY_MS));
        v[f_note] = text(below(100) < 30 ? "Done; notes in the deal." : NULL);
    }
}

/* Fills v for a lead of workspace w; serial keeps emails unique. */
static void gen_lead(const res_def *r, store_val *v, const wspace *w, long ncompanies, long serial,
                     int64_t now_ms)
{
    static int f_name = -1, f_email, f_phone, f_cname, f_title, f_status, f_source, f_owner,
               f_value, f_cur, f_notes, f_conv_at, f_conv_contact, f_conv_company;
    if (f_name < 0) {
        f_name = field(r, "name"), f_email = field(r, "email"), f_phone = field(r, "phone");
        f_cname = field(r, "company_name"), f_title = field(r, "title");
        f_status = field(r, "status"), f_source = field(r, "source");
        f_owner = field(r, "owner_id"), f_value = field(r, "value_cents");
        f_cur = field(r, "currency"), f_notes = field(r, "notes");
        f_conv_at = field(r, "converted_at"), f_conv_contact = field(r, "converted_contact_id");
        f_conv_company = field(r, "converted_company_id");
    }
    static char name[256], email[256], phone[32], fl[64], ll[64];
    const char *first = PICK(first_names), *last = PICK(last_names);
    const company *co = below(100) < 70 ? &w->companies[below((uint64_t)ncompanies)] : NULL;
    lower(fl, sizeof fl, first);
    lower(ll, sizeof ll, last);
    snprintf(name, sizeof name, "%s %s", first, last);
    snprintf(email, sizeof email, "%s.%s.l%ld@%s", fl, ll, serial,
             co ? co->domain : PICK(free_mail));
    snprintf(phone, sizeof phone, "+%" PRIu64 " %03" PRIu64 " %07" PRIu64, 1 + below(60),
             below(1000), below(10000000));
    const char *st = lead_status[weighted(lead_status_w, NELEM(lead_status_w))];
    for (int i = 0; i < r->nfields; i++)
        v[i] = (store_val){.kind = SV_NULL};
    v[f_name] = text(name);
    v[f_email] = text(below(100) < 90 ? email : NULL);
    v[f_phone] = text(below(100) < 60 ? phone : NULL);
    v[f_cname] = text(co ? co->name : NULL);
    v[f_title] = text(below(100) < 70 ? PICK(titles) : NULL);
    v[f_status] = text(st);
    v[f_source] = text(lead_source[weighted(lead_source_w, NELEM(lead_source_w))]);
    v[f_owner] = text(PICK(owners));
    if (below(2)) {
        v[f_value] = integer((int64_t)(1 + below(500)) * 10000);
        v[f_cur] = text(below(100) < 80 ? "USD" : "EUR");
    }
    v[f_notes] = text(below(100) < 15 ? PICK(notes) : NULL);
    if (strcmp(st, "converted") == 0) {
        int64_t nc = w->seen < SAMPLE_IDS ? w->seen : SAMPLE_IDS;
        v[f_conv_at] = integer(now_ms - (int64_t)below(120 * DAY_MS));
        v[f_conv_contact] = text(nc ? w->sample[below((uint64_t)nc)] : NULL);
        v[f_conv_company] = text(co ? co->id : NULL);
    }
}

static void progress(const char *what, long done, long total, double t0)
{
    double dt = now_s() - t0;
    printf("  %-9s %9ld / %-9ld %6.1f s  %8.0f rows/s\n", what, done, total, dt,
           dt > 0 ? (double)done / dt : 0.0);
    fflush(stdout);
}

/* ------------------------------------------------------------- the ledger */

/* The ledger workspace's chart: the default chart, which the accounting
 * workspace hook made (found by code), and what a small company adds. */
static const struct {
    const char *code, *name, *type;
    bool seeded;
} chart_defs[] = {
    {"1000", "Cash", "asset", true},
    {"1010", "Operating bank account", "asset", false},
    {"1020", "Payroll bank account", "asset", false},
    {"1030", "Savings account", "asset", false},
    {"1100", "Accounts receivable", "asset", true},
    {"1200", "Inventory", "asset", false},
    {"1300", "Prepaid expenses", "asset", false},
    {"1500", "Equipment", "asset", false},
    {"1510", "Accumulated depreciation", "asset", false},
    {"2000", "Accounts payable", "liability", false},
    {"2100", "Tax payable", "liability", true},
    {"2200", "Accrued liabilities", "liability", false},
    {"2300", "Payroll liabilities", "liability", false},
    {"2400", "Deferred revenue", "liability", false},
    {"2700", "Bank loan", "liability", false},
    {"3000", "Share capital", "equity", false},
    {"3100", "Retained earnings", "equity", false},
    {"4000", "Revenue", "revenue", true},
    {"4100", "Services revenue", "revenue", false},
    {"4200", "Subscription revenue", "revenue", false},
    {"4800", "Interest income", "revenue", false},
    {"4900", "Refunds and allowances", "expense", true},
    {"5000", "Cost of goods sold", "expense", false},
    {"5100", "Hosting and infrastructure", "expense", false},
    {"6000", "Salaries and wages", "expense", false},
    {"6100", "Payroll taxes", "expense", false},
    {"6200", "Rent", "expense", false},
    {"6300", "Utilities", "expense", false},
    {"6400", "Software subscriptions", "expense", false},
    {"6500", "Marketing", "expense", false},
    {"6600", "Travel", "expense", false},
    {"6700", "Professional fees", "expense", false},
    {"6800", "Depreciation", "expense", false},
    {"6900", "Bank fees", "expense", false},
    {"7000", "Interest expense", "expense", false},
    {"7100", "Insurance", "expense", false},
    {"7200", "Office supplies", "expense", false},
};
#define NCHART      NELEM(chart_defs)
#define LEDGER_DAYS 365 /* entry dates: the last 365 days, today included */
#define ENTRY_LINES 4   /* lines of an entry at most */

/* The kinds of entries the ledger holds: the memo (followed by a
 * company's name when `party`), how often each comes, its total's range in
 * dollars (drawn log-uniformly), the prefix of its reference (a serial
 * follows; NULL: none) and its lines, comma-separated: D (debit) or C
 * (credit), the account's code, or several separated by '|' of which each
 * entry draws one, then optionally ':' and its percentage of the entry's
 * total on that side (the side's last line takes the rest; a single line
 * takes all) and '=' and the line's description. The first kind is the
 * opening entry, made once, on the first day. */
static const struct entry_def {
    const char *memo;
    unsigned weight;
    int64_t lo, hi;
    bool party;
    const char *ref, *lines;
} entry_defs[] = {
    {"Opening balance", 0, 500000, 500000, false, NULL, "D1010,C3000"},
    {"Cash sale", 10, 20, 2000, false, NULL, "D1000,C4000:83,C2100=Sales tax"},
    {"Invoice to", 14, 200, 50000, true, "INV", "D1100,C4100:83,C2100=Sales tax"},
    {"Subscription invoice to", 10, 50, 5000, true, "SUB", "D1100,C4200:83,C2100=Sales tax"},
    {"Payment received from", 16, 50, 50000, true, "PMT", "D1010,C1100"},
    {"Bill from", 8, 100, 20000, true, "BILL", "D5000|5100|6700,C2000"},
    {"Payment to", 7, 100, 20000, true, "PAY", "D2000,C1010"},
    {"Card expense", 10, 5, 2000, false, NULL, "D6400|6500|6600|6900|7200,C1010"},
    {"Expense report", 4, 50, 3000, false, NULL,
     "D6600:50=Travel,D6500:30=Client meals,D7200=Supplies,C1010"},
    {"Payroll", 3, 20000, 200000, false, "PR", "D6000:85,D6100,C1020:70=Net pay,C2300=Withholding"},
    {"Payroll funding", 2, 20000, 200000, false, NULL, "D1020,C1010"},
    {"Payroll taxes paid", 2, 5000, 60000, false, NULL, "D2300,C1010"},
    {"Office rent", 1, 5000, 15000, false, NULL, "D6200,C1010"},
    {"Utilities bill from", 1, 200, 2000, true, NULL, "D6300,C2000"},
    {"Inventory purchase from", 4, 500, 50000, true, "PO", "D1200,C2000"},
    {"Cost of goods sold", 3, 200, 20000, false, NULL, "D5000,C1200"},
    {"Depreciation", 1, 1000, 5000, false, NULL, "D6800,C1510"},
    {"Refund to", 2, 20, 2000, true, NULL, "D4900,C1000"},
    {"Sales tax remittance", 1, 1000, 50000, false, NULL, "D2100,C1010"},
    {"Insurance premium", 1, 1000, 20000, false, NULL, "D1300,C1010"},
    {"Insurance expense", 1, 100, 2000, false, NULL, "D7100,C1300"},
    {"Loan repayment", 1, 2000, 10000, false, NULL, "D2700:80=Principal,D7000=Interest,C1010"},
    {"Interest received", 1, 10, 500, false, NULL, "D1030,C4800"},
    {"Revenue recognised", 2, 500, 10000, false, NULL, "D2400,C4200"},
    {"Annual plan prepaid by", 1, 1000, 30000, true, NULL, "D1010,C2400"},
    {"Cash deposited", 2, 500, 10000, false, NULL, "D1010,C1000"},
    {"Transfer to savings", 1, 1000, 50000, false, NULL, "D1030,C1010"},
    {"Equipment from", 1, 1000, 20000, true, NULL, "D1500,C2000"},
    {"Accrued expenses", 1, 500, 10000, false, NULL, "D6700|5100,C2200"},
};
#define NENTRY_DEFS NELEM(entry_defs)

#define MAX_CHOICES 8

/* A line of an entry kind, parsed. */
typedef struct entry_line {
    bool debit;
    unsigned share;                   /* 0: the rest of its side */
    char desc[64];                    /* "" for none */
    int nchoice, choice[MAX_CHOICES]; /* chart_defs indexes */
} entry_line;

/* The ledger's accounts (ids in chart_defs order) and each entry kind's
 * lines. */
typedef struct ledger {
    char id[NCHART][ID_MAX];
    int nlines[NENTRY_DEFS];
    entry_line lines[NENTRY_DEFS][ENTRY_LINES];
} ledger;

static int chart_index(const char *code, size_t n)
{
    for (size_t k = 0; k < NCHART; k++)
        if (strlen(chart_defs[k].code) == n && strncmp(chart_defs[k].code, code, n) == 0)
            return (int)k;
    fprintf(stderr, "bench-gen: no account %.*s in the chart\n", (int)n, code);
    exit(1);
}

/* Parses entry_defs[d].lines into l (a mistake there is the generator's
 * bug: it says so and exits). */
static void parse_lines(size_t d, ledger *l)
{
    const char *p = entry_defs[d].lines;
    int n = 0;
    bool sides[2] = {false, false};
    while (*p) {
        size_t len = strcspn(p, ",");
        if (n == ENTRY_LINES || (*p != 'D' && *p != 'C')) break;
        entry_line *el = &l->lines[d][n++];
        el->debit = *p == 'D';
        sides[el->debit] = true;
        const char *q = p + 1, *end = p + len;
        while (q < end && *q != ':' && *q != '=') {
            size_t clen = strcspn(q, "|:=,");
            if (el->nchoice == MAX_CHOICES) break;
            el->choice[el->nchoice++] = chart_index(q, clen);
            q += clen;
            if (*q == '|') q++;
        }
        if (*q == ':') el->share = (unsigned)strtoul(q + 1, (char **)&q, 10);
        if (*q == '=') snprintf(el->desc, sizeof el->desc, "%.*s", (int)(end - q - 1), q + 1);
        p = *end ? end + 1 : end;
    }
    l->nlines[d] = n;
    if (*p || n < 2 || !sides[0] || !sides[1]) {
        fprintf(stderr, "bench-gen: entry kind '%s' has bad lines: %s\n", entry_defs[d].memo,
                entry_defs[d].lines);
        exit(1);
    }
}

/* Adds the accounts the hook did not make and finds every account's id. */
static void make_chart(store_conn *c, const char *ws, ledger *l)
{
    const res_def *ra = res_find("accounting-accounts");
    store_val v[32];
    if (ra->nfields > 32) abort();
    int f_code = field(ra, "code"), f_name = field(ra, "name"), f_type = field(ra, "type"),
        f_side = field(ra, "normal_side"), f_cur = field(ra, "currency"),
        f_status = field(ra, "status");
    store_err e;
    int64_t now = (int64_t)time_now_ms();
    for (size_t k = 0; k < NCHART; k++) {
        if (chart_defs[k].seeded) {
            arena a;
            arena_init(&a);
            res_row row;
            int rc = store_rec_find_by(c, &a, ra, ws, f_code, chart_defs[k].code, false, &row, &e);
            if (rc == STORE_NOTFOUND) {
                fprintf(stderr, "bench-gen: the default chart has no account %s\n",
                        chart_defs[k].code);
                exit(1);
            }
            check(rc, &e, "account find");
            memcpy(l->id[k], row.id, ID_MAX);
            arena_release(&a);
            continue;
        }
        const char *type = chart_defs[k].type;
        for (int i = 0; i < ra->nfields; i++)
            v[i] = (store_val){.kind = SV_NULL};
        v[f_code] = text(chart_defs[k].code);
        v[f_name] = text(chart_defs[k].name);
        v[f_type] = text(type);
        v[f_side] =
            text(strcmp(type, "asset") == 0 || strcmp(type, "expense") == 0 ? "debit" : "credit");
        v[f_cur] = text("USD");
        v[f_status] = text("active");
        res_row row = {.vals = v};
        id_new(row.id, ra->prefix);
        row.created_ms = row.updated_ms = now - (LEDGER_DAYS + 1) * DAY_MS;
        check(store_rec_insert(c, ra, ws, &row, &e), &e, "account insert");
        memcpy(l->id[k], row.id, ID_MAX);
    }
    for (size_t d = 0; d < NENTRY_DEFS; d++)
        parse_lines(d, l);
}

/* A whole number of dollars from lo to hi, log-uniformly, in cents. */
static int64_t log_dollars(int64_t lo, int64_t hi)
{
    double u = (double)below(1000000) / 1e6;
    return (int64_t)((double)lo * pow((double)hi / (double)lo, u)) * 100 + (int64_t)below(100);
}

/* An entry kind whose lines fit in `left` without leaving 1 behind. */
static size_t pick_entry(const ledger *l, long left)
{
    for (;;) {
        unsigned total = 0;
        for (size_t d = 0; d < NENTRY_DEFS; d++)
            total += entry_defs[d].weight;
        uint64_t x = below(total);
        size_t d = 0;
        while (x >= entry_defs[d].weight)
            x -= entry_defs[d++].weight;
        long n = l->nlines[d];
        if (n == left || n + 1 < left) return d;
    }
}

/* Posts `nlines` journal lines in workspace w, as POST
 * /v1/accounting/journal-entries writes them: balanced posted entries over
 * LEDGER_DAYS days, in date order, each with its lines (the entry's
 * `lines` as the server keeps them, and one journal line per debit and
 * credit). The journal lines' rollups are rebuilt afterwards. */
static void gen_ledger(store_conn *c, wspace *w, const ledger *l, long nlines, long ncompanies,
                       int64_t now_ms)
{
    const res_def *rje = res_find("journal-entries"), *rjl = res_find("journal-lines");
    static int f_date = -1, f_memo, f_ref, f_status, f_cur, f_lines, f_total, f_posted, f_source,
               l_entry, l_acct, l_side, l_amount, l_cur, l_date, l_desc;
    if (f_date < 0) {
        f_date = field(rje, "entry_date"), f_memo = field(rje, "memo");
        f_ref = field(rje, "reference"), f_status = field(rje, "status");
        f_cur = field(rje, "currency"), f_lines = field(rje, "lines");
        f_total = field(rje, "total_cents"), f_posted = field(rje, "posted_at");
        f_source = field(rje, "source");
        l_entry = field(rjl, "entry_id"), l_acct = field(rjl, "account_id");
        l_side = field(rjl, "side"), l_amount = field(rjl, "amount_cents");
        l_cur = field(rjl, "currency"), l_date = field(rjl, "entry_date");
        l_desc = field(rjl, "description");
    }
    store_val ev[32], lv[32];
    if (rje->nfields > 32 || rjl->nfields > 32) abort();
    char json[4096], memo[256], ref[64], date[16];
    int64_t today = now_ms - now_ms % DAY_MS;
    store_err e;
    double t0 = now_s();
    long done = 0, entries = 0, step = nlines >= 1000000 ? 100000 : 10000, next = step;
    bool open = false;
    while (done < nlines) {
        if (!open) check(store_begin(c, true, &e), &e, "begin");
        open = true;
        size_t d = entries == 0 && nlines - done >= 2 ? 0 : pick_entry(l, nlines - done);
        const struct entry_def *def = &entry_defs[d];
        const entry_line *el = l->lines[d];
        int nl = l->nlines[d];
        /* Dates follow the lines posted so far: about as many each day. */
        int64_t day = today - (LEDGER_DAYS - 1 - (int64_t)(done * LEDGER_DAYS / nlines)) * DAY_MS;
        int64_t at = day + 8 * 3600000 + (int64_t)below(10 * 3600000);
        if (at > now_ms) at = day + (int64_t)below((uint64_t)(now_ms - day) + 1);
        date_of(day, date);
        int64_t total = log_dollars(def->lo, def->hi);
        int64_t amount[ENTRY_LINES];
        int acct[ENTRY_LINES];
        /* Each side's lines take their share; its last one the rest. */
        for (int side = 0; side < 2; side++) {
            int64_t left = total;
            int last = -1;
            for (int i = 0; i < nl; i++) {
                if (el[i].debit != (side == 0)) continue;
                amount[i] = total * el[i].share / 100;
                left -= amount[i];
                last = i;
            }
            amount[last] += left;
        }
        size_t len = 0;
        json[len++] = '[';
        for (int i = 0; i < nl; i++) {
            if (amount[i] <= 0) {
                fprintf(stderr, "bench-gen: entry kind '%s' made a line of %" PRId64 "\n",
                        def->memo, amount[i]);
                exit(1);
            }
            acct[i] = el[i].choice[below((uint64_t)el[i].nchoice)];
            char desc[80] = "null";
            if (el[i].desc[0]) snprintf(desc, sizeof desc, "\"%s\"", el[i].desc);
            len += (size_t)snprintf(json + len, sizeof json - len,
                                    "%s{\"account_id\":\"%s\",\"account_code\":\"%s\","
                                    "\"debit_cents\":%" PRId64 ",\"credit_cents\":%" PRId64
                                    ",\"description\":%s}",
                                    i ? "," : "", l->id[acct[i]], chart_defs[acct[i]].code,
                                    el[i].debit ? amount[i] : 0, el[i].debit ? 0 : amount[i], desc);
        }
        snprintf(json + len, sizeof json - len, "]");
        if (def->party)
            snprintf(memo, sizeof memo, "%s %s", def->memo,
                     w->companies[below((uint64_t)ncompanies)].name);
        else
            snprintf(memo, sizeof memo, "%s", def->memo);
        if (def->ref) snprintf(ref, sizeof ref, "%s-%07ld", def->ref, entries + 1);
        for (int i = 0; i < rje->nfields; i++)
            ev[i] = (store_val){.kind = SV_NULL};
        ev[f_date] = text(date);
        ev[f_memo] = text(memo);
        ev[f_ref] = text(def->ref ? ref : NULL);
        ev[f_status] = text("posted");
        ev[f_cur] = text("USD");
        ev[f_lines] = text(json);
        ev[f_total] = integer(total);
        ev[f_posted] = integer(at);
        ev[f_source] = text("manual");
        res_row row = {.vals = ev};
        id_new(row.id, rje->prefix);
        row.created_ms = row.updated_ms = at;
        check(store_rec_insert(c, rje, w->ws.id, &row, &e), &e, "journal entry insert");
        for (int i = 0; i < nl; i++) {
            for (int k = 0; k < rjl->nfields; k++)
                lv[k] = (store_val){.kind = SV_NULL};
            lv[l_entry] = text(row.id);
            lv[l_acct] = text(l->id[acct[i]]);
            lv[l_side] = text(el[i].debit ? "debit" : "credit");
            lv[l_amount] = integer(amount[i]);
            lv[l_cur] = text("USD");
            lv[l_date] = text(date);
            lv[l_desc] = text(el[i].desc[0] ? el[i].desc : NULL);
            res_row line = {.vals = lv};
            id_new(line.id, rjl->prefix);
            line.created_ms = line.updated_ms = at;
            check(store_rec_insert(c, rjl, w->ws.id, &line, &e), &e, "journal line insert");
        }
        done += nl;
        entries++;
        if (entries % BATCH == 0 || done == nlines) {
            check(store_commit(c, &e), &e, "commit");
            open = false;
        }
        if (done >= next || done == nlines) {
            progress("jlines", done, nlines, t0);
            next += step;
        }
    }
    printf("  %ld journal entries of %ld lines, %zu accounts, %d days\n", entries, done, NCHART,
           LEDGER_DAYS);
}

/* ---------------------------------------------------------------- support */

/* The support workspace's queues and their targets in minutes. */
#define NQUEUES 4
static const struct {
    const char *key, *name;
    int64_t first, resolution;
} queue_defs[NQUEUES] = {
    {"general", "General Support", 240, 2880},
    {"priority", "Priority Support", 60, 480},
    {"billing", "Billing", 480, 4320},
    {"enterprise", "Enterprise", 30, 240},
};
enum { Q_GENERAL, Q_PRIORITY, Q_BILLING, Q_ENTERPRISE };

static const char *const ticket_categories[] = {"billing", "bug",         "how-to",
                                                "account", "integration", "feature-request",
                                                "outage",  "onboarding"};
static const unsigned ticket_category_w[] = {18, 22, 20, 12, 10, 8, 3, 7};
static const char *const ticket_subjects[][4] = {
    {"Charged twice this month", "Invoice shows the wrong VAT number", "Refund request",
     "Cannot update the credit card"},
    {"Export to CSV fails", "Dashboard does not load", "Error 500 when saving a deal",
     "Search misses recent contacts"},
    {"How do I merge two contacts?", "Setting up pipelines for two teams",
     "Where do I find the API keys?", "Importing contacts from a spreadsheet"},
    {"Locked out after password reset", "Add a seat for a new hire", "Change the account owner",
     "Close our account"},
    {"Webhook deliveries stopped", "Calendar sync duplicates meetings",
     "Email integration disconnected", "Zapier trigger not firing"},
    {"Custom fields on tasks", "Bulk edit deal owners", "Dark mode",
     "Report on win rate by source"},
    {"The app is down for our whole team", "API answering 503", "Very slow since this morning",
     "Login page does not load"},
    {"Kick-off call for our rollout", "Training for the sales team", "Migration from our old CRM",
     "Help configuring SSO"},
};
static const char *const ticket_bodies[] = {
    "Hi, since yesterday this happens every time we try. Screenshots attached. Thanks!",
    "We need this solved before our board meeting on Friday, please advise.",
    "Several people on the team see the same thing; clearing the cache did not help.",
    "Could you tell us what we are doing wrong? The documentation was not clear to us.",
    "Following up on my earlier email, which got no answer yet.",
};
static const char *const ticket_source[] = {"manual", "email", "chat",  "phone", "web",
                                            "api",    "mcp",   "slack", "other"};
static const unsigned ticket_source_w[] = {4, 40, 16, 10, 18, 5, 1, 4, 2};
static const unsigned ticket_open_status_w[] = {45, 20, 35};

typedef struct support {
    char queue[NQUEUES][ID_MAX];
    long by_sla[5]; /* on_track, at_risk, breached, met, none */
    long by_status[6];
} support;

static void make_queues(store_conn *c, const char *ws, support *s, int64_t now_ms)
{
    const res_def *rq = res_find("support-queues");
    store_val v[32];
    if (rq->nfields > 32) abort();
    store_err e;
    for (int k = 0; k < NQUEUES; k++) {
        for (int i = 0; i < rq->nfields; i++)
            v[i] = (store_val){.kind = SV_NULL};
        v[field(rq, "key")] = text(queue_defs[k].key);
        v[field(rq, "name")] = text(queue_defs[k].name);
        v[field(rq, "status")] = text("active");
        v[field(rq, "first_response_target_minutes")] = integer(queue_defs[k].first);
        v[field(rq, "resolution_target_minutes")] = integer(queue_defs[k].resolution);
        res_row row = {.vals = v};
        id_new(row.id, rq->prefix);
        row.created_ms = row.updated_ms = now_ms - (LEDGER_DAYS + 1) * DAY_MS;
        check(store_rec_insert(c, rq, ws, &row, &e), &e, "queue insert");
        memcpy(s->queue[k], row.id, ID_MAX);
    }
}

static store_val ms_or_null(int64_t ms)
{
    return ms ? integer(ms) : (store_val){.kind = SV_NULL};
}

/* A ticket's SLA status and when it next changes (0: never), at `now`:
 * support.c's sla_update, for clocks that never paused before. Returns
 * an index into the sla_states values (4: none, no clock). */
static int ticket_sla(int64_t created, int64_t now, const int64_t due[2], const int64_t stop[2],
                      int64_t paused, int64_t *next)
{
    bool any = false, breached = false, running = false, at_risk = false;
    *next = 0;
    for (int i = 0; i < 2; i++) {
        if (!due[i]) continue;
        any = true;
        if (stop[i]) {
            breached |= stop[i] > due[i];
            continue;
        }
        running = true;
        int64_t p = i == 1 ? paused : 0, at = p ? p : now;
        if (at >= due[i]) {
            breached = true;
            continue;
        }
        int64_t risk = due[i] - (due[i] - created) / 4;
        if (at >= risk) at_risk = true;
        if (p) continue;
        int64_t change = at < risk ? risk : due[i];
        if (!*next || change < *next) *next = change;
    }
    if (breached) *next = 0;
    return !any ? 4 : breached ? 2 : !running ? 3 : at_risk ? 1 : 0;
}

/* Fills v for the serial-th of n tickets of workspace w, created over the
 * last LEDGER_DAYS days in serial order, with its status, clocks and SLA
 * status as the server would have them now: agents answer within 2% to
 * 104% of the queue's first response target and resolve within 5% to 108%
 * of the resolution target (so about one in ten breaches); tickets still
 * in the works are the recent ones and 1% of older ones; resolved ones
 * close 2 to 7 days later. Returns the ticket's created and updated
 * times. */
static void gen_ticket(const res_def *r, store_val *v, const wspace *w, support *s, long ncompanies,
                       long serial, long n, int64_t now, int64_t *created_out, int64_t *updated_out)
{
    static int f_subject = -1, f_desc, f_status, f_prio, f_source, f_cat, f_queue, f_assignee,
               f_contact, f_company, f_first_at, f_resolved, f_closed, f_first_due, f_res_due,
               f_sla, f_paused, f_next;
    if (f_subject < 0) {
        f_subject = field(r, "subject"), f_desc = field(r, "description");
        f_status = field(r, "status"), f_prio = field(r, "priority");
        f_source = field(r, "source"), f_cat = field(r, "category");
        f_queue = field(r, "queue_id"), f_assignee = field(r, "assignee_id");
        f_contact = field(r, "contact_id"), f_company = field(r, "company_id");
        f_first_at = field(r, "first_response_at"), f_resolved = field(r, "resolved_at");
        f_closed = field(r, "closed_at"), f_first_due = field(r, "first_response_due_at");
        f_res_due = field(r, "resolution_due_at"), f_sla = field(r, "sla_status");
        f_paused = field(r, "sla_paused_at"), f_next = field(r, "sla_next_change_at");
    }
    static const char *const sla_names[] = {"on_track", "at_risk", "breached", "met", NULL};
    static const char *const statuses[] = {"new",      "open",  "pending", "waiting_on_customer",
                                           "resolved", "closed"};
    const int64_t span = LEDGER_DAYS * DAY_MS, slot = span / n > 0 ? span / n : 1;
    int64_t created = now - span + span / n * serial + (int64_t)below((uint64_t)slot);
    if (created >= now) created = now - 1;
    size_t cat = weighted(ticket_category_w, NELEM(ticket_category_w));
    size_t prio = weighted(task_priority_w, NELEM(task_priority_w));
    int q = -1;
    if (below(100) >= 8) {
        if (strcmp(ticket_categories[cat], "billing") == 0)
            q = Q_BILLING;
        else if (prio == 3 || strcmp(ticket_categories[cat], "outage") == 0)
            q = below(10) < 6 ? Q_ENTERPRISE : Q_PRIORITY;
        else if (prio == 2)
            q = below(2) ? Q_PRIORITY : Q_GENERAL;
        else
            q = Q_GENERAL;
    }
    /* Targets in ms; a ticket without a queue has no clocks but is worked
     * at the general queue's pace. */
    int64_t tf = queue_defs[q < 0 ? Q_GENERAL : q].first * 60000,
            tr = queue_defs[q < 0 ? Q_GENERAL : q].resolution * 60000;
    int64_t df = tf * (20 + (int64_t)below(1020)) / 1000;
    int64_t dr = tr * (50 + (int64_t)below(1030)) / 1000;
    if (dr <= df) dr = df + 60000 + (int64_t)below((uint64_t)tr / 10);
    int64_t age = now - created, first_at = 0, resolved = 0, closed = 0, paused = 0;
    int st;
    if (df > age) {
        st = below(5) ? 0 : 1; /* new, or open and nobody answered yet */
    } else {
        first_at = created + df;
        if (dr <= age && below(100) != 0) {
            if (below(100) < 4) {
                closed = created + dr; /* closed without a resolution: spam, duplicates */
                st = 5;
            } else {
                resolved = created + dr;
                int64_t close_at = resolved + 2 * DAY_MS + (int64_t)below(5 * DAY_MS);
                if (close_at <= now) closed = close_at;
                st = closed ? 5 : 4;
            }
        } else {
            st = 1 + (int)weighted(ticket_open_status_w, NELEM(ticket_open_status_w));
            if (st == 3) paused = first_at + (int64_t)below((uint64_t)(now - first_at) + 1);
        }
    }
    int64_t due[2] = {q < 0 ? 0 : created + tf, q < 0 ? 0 : created + tr};
    int64_t stop[2] = {first_at, resolved ? resolved : closed}, next;
    int sla = ticket_sla(created, now, due, stop, paused, &next);
    s->by_sla[sla]++;
    s->by_status[st]++;
    const company *co = below(100) < 60 ? &w->companies[below((uint64_t)ncompanies)] : NULL;
    int64_t nc = w->seen < SAMPLE_IDS ? w->seen : SAMPLE_IDS;
    for (int i = 0; i < r->nfields; i++)
        v[i] = (store_val){.kind = SV_NULL};
    v[f_subject] = text(ticket_subjects[cat][below(4)]);
    v[f_desc] = text(below(100) < 60 ? PICK(ticket_bodies) : NULL);
    v[f_status] = text(statuses[st]);
    v[f_prio] = text(task_priority[prio]);
    v[f_source] = text(ticket_source[weighted(ticket_source_w, NELEM(ticket_source_w))]);
    v[f_cat] = text(ticket_categories[cat]);
    v[f_queue] = text(q < 0 ? NULL : s->queue[q]);
    v[f_assignee] = text(st == 0 ? NULL : PICK(owners));
    v[f_contact] = text(nc && below(100) < 70 ? w->sample[below((uint64_t)nc)] : NULL);
    v[f_company] = text(co ? co->id : NULL);
    v[f_first_at] = ms_or_null(first_at);
    v[f_resolved] = ms_or_null(resolved);
    v[f_closed] = ms_or_null(closed);
    v[f_first_due] = ms_or_null(due[0]);
    v[f_res_due] = ms_or_null(due[1]);
    v[f_sla] = text(sla_names[sla]);
    v[f_paused] = ms_or_null(paused);
    v[f_next] = ms_or_null(next);
    int64_t updated = created;
    const int64_t times[] = {first_at, resolved, closed, paused};
    for (size_t i = 0; i < NELEM(times); i++)
        if (times[i] > updated) updated = times[i];
    *created_out = created;
    *updated_out = updated;
}

/* ------------------------------------------------------------ CMS and BI */

/* The CMS workspace's collection: articles with a unique slug, as a blog
 * keeps them. Its schema as the server stores it (cms.c's canonical form:
 * every member of each field, `to` as the table names it). */
static const char cms_schema[] =
    "{\"fields\":["
    "{\"key\":\"title\",\"type\":\"string\",\"required\":true,\"unique\":false,\"options\":null,"
    "\"to\":null},"
    "{\"key\":\"slug\",\"type\":\"string\",\"required\":true,\"unique\":true,\"options\":null,"
    "\"to\":null},"
    "{\"key\":\"summary\",\"type\":\"text\",\"required\":false,\"unique\":false,\"options\":null,"
    "\"to\":null},"
    "{\"key\":\"body\",\"type\":\"markdown\",\"required\":true,\"unique\":false,\"options\":null,"
    "\"to\":null},"
    "{\"key\":\"category\",\"type\":\"enum\",\"required\":true,\"unique\":false,\"options\":["
    "\"product\",\"engineering\",\"sales\",\"marketing\",\"customer-success\",\"company\"],"
    "\"to\":null},"
    "{\"key\":\"author\",\"type\":\"string\",\"required\":false,\"unique\":false,\"options\":null,"
    "\"to\":null},"
    "{\"key\":\"reading_minutes\",\"type\":\"integer\",\"required\":false,\"unique\":false,"
    "\"options\":null,\"to\":null}]}";
static const char *const cms_categories[] = {"product",   "engineering",      "sales",
                                             "marketing", "customer-success", "company"};

/* Topics in Zipf order (the n-th drawn in proportion to 1/n): a search
 * for the first finds a fifth of the entries, for the last one in 200. */
static const char *const cms_topics[] = {
    "Sales Pipeline",
    "Customer Onboarding",
    "Lead Scoring",
    "Churn",
    "Pricing",
    "Email Deliverability",
    "Forecasting",
    "Cold Outreach",
    "Webhooks",
    "Data Import",
    "Account Management",
    "Retention",
    "Upselling",
    "Support SLAs",
    "Product Launches",
    "Landing Pages",
    "Marketing Attribution",
    "Knowledge Bases",
    "Referral Programs",
    "Quarterly Planning",
    "Invoice Automation",
    "Territory Planning",
    "CRM Migration",
    "A/B Testing",
    "Webinars",
    "Event Marketing",
    "Partner Programs",
    "Customer Interviews",
    "Win-Loss Analysis",
    "Sales Compensation",
    "Deal Desk",
    "API Rate Limits",
    "GDPR Compliance",
    "Renewals",
    "Community Building",
    "Brand Voice",
    "Content Calendars",
    "SEO Audits",
    "Chatbots",
    "Field Sales",
    "Procurement",
    "Net Revenue Retention",
    "Usage-Based Billing",
    "Data Hygiene",
    "Sales Enablement",
    "Customer Advisory Boards",
    "Localization",
    "Carbon Accounting",
};
static const char *const cms_audiences[] = {
    "Startups",         "Sales Teams", "Founders",          "Support Teams",
    "Marketers",        "Agencies",    "Enterprise Buyers", "Small Businesses",
    "Account Managers", "Nonprofits",  "Developers",        "Finance Teams",
};
static const char *const cms_patterns[] = {
    "How to improve %s",          "%d ways to fix your %s",       "A practical guide to %s for %s",
    "%s: lessons from %s",        "Why %s matters in %d",         "The %s checklist for %s",
    "What %s get wrong about %s", "%s in practice, a case study", "Getting started with %s",
    "Beyond %s: what comes next", "The %s playbook for %s",       "Ask the expert: %s",
    "%s benchmarks for %d",
};
static const char *const cms_tools[] = {
    "spreadsheets",   "dashboards",     "webhooks",          "the API",       "email sequences",
    "a shared inbox", "the mobile app", "quarterly reviews", "custom fields", "saved views",
};
/* Codenames a few entries mention in passing (one in a hundred, each of
 * them one in two thousand): searches that find a handful. */
static const char *const cms_codenames[] = {
    "Basalt",  "Zephyr",  "Quokka", "Marigold", "Tundra", "Obsidian", "Kestrel",
    "Juniper", "Halcyon", "Fennel", "Sorrel",   "Lagoon", "Cobalt",   "Nimbus",
    "Piccolo", "Vireo",   "Wombat", "Xylo",     "Yarrow", "Zinnia",
};
static const char *const cms_sentences[] = {
    "Most teams start with %s and outgrow them within a year.",
    "We asked forty customers how they approach %s today.",
    "The short answer: measure %s weekly and review it with the whole team.",
    "A common mistake is treating %s as a one-off project instead of a habit.",
    "Here is the framework we use, with templates you can copy.",
    "Start small: pick one metric, one owner and one review meeting.",
    "Automating the boring parts with %s frees hours every week.",
    "Numbers from our own quarterly data back this up.",
    "If you only read one section, read the one on %s.",
    "The best %s we spoke to keep their process boring and predictable.",
    "Tie every change to a customer outcome, not to activity.",
    "Document the process so new hires can follow it in their first week.",
    "Expect the first month to be messy; it settles by the second quarter.",
    "Connect %s to your CRM so nothing lives in a silo.",
    "We compared three approaches to %s and kept the simplest one.",
    "Revisit the plan every quarter and drop what no longer works.",
    "Small improvements compound: a few percent a month is a lot in a year.",
    "Share the results openly; it builds trust across teams.",
};
#define NSENT (sizeof cms_sentences / sizeof cms_sentences[0])

/* The n-th topic drawn in proportion to 1/(n+1). */
static size_t zipf_topic(void)
{
    static double cum[NELEM(cms_topics)];
    static double total;
    if (total == 0)
        for (size_t i = 0; i < NELEM(cms_topics); i++)
            cum[i] = total += 1.0 / (double)(i + 1);
    double x = (double)below(1u << 30) / (double)(1u << 30) * total;
    for (size_t i = 0; i < NELEM(cms_topics); i++)
        if (x < cum[i]) return i;
    return NELEM(cms_topics) - 1;
}

/* Appends one of the sentences with its %s (if any) filled in. */
static void sentence(buf *b, size_t topic)
{
    const char *s = PICK(cms_sentences);
    char low[64];
    const char *arg;
    switch (below(4)) {
    case 0: arg = PICK(cms_tools); break;
    case 1: lower(low, sizeof low, PICK(cms_audiences)), arg = low; break;
    default: lower(low, sizeof low, cms_topics[topic]), arg = low; break;
    }
    if (b->len) buf_putc(b, ' ');
    buf_printf(b, s, arg);
}

typedef struct cms_data {
    store_workspace ws;
    char tokens[BOARD_KEYS][64]; /* 16: the create scenario's 32 connections */
    char key_id[ID_MAX];
    char collection[ID_MAX];
    char site[ID_MAX];
    char sample[ID_MAX]; /* an entry run.sh reads back ... */
    char sample_slug[600];
    long sample_serial; /* ... and finds by the number its slug ends with */
    long n;
} cms_data;

static const char *const cms_queries[] = {
    "guide",
    "pipeline",
    "churn",
    "onboarding",
    "pricing",
    "onb",
    "pri",
    "web",
    "lead scoring",
    "sales pipeline",
    "churn startups",
    "founders",
    "checklist",
    "spreadsheets",
    "quarterly",
    "templates",
    "renewals",
    "localization",
    "carbon",
    "basalt",
    "zephyr quokka",
    "gdpr",
    "api rate",
    "case study",
    "deliverability",
};

static void title_word(const char *w, size_t n, void *ud)
{
    buf_printf((buf *)ud, " 0%.*s", (int)n, w); /* cms.c's TITLE_MARK */
}

/* The workspace, its keys, site and collection, then n entries (each with
 * its first revision, and its search text as cms.c writes it), created
 * over the last two years in rid order. */
static void gen_cms(store_conn *c, cms_data *d, long n, long nkeys)
{
    const res_def *rcol = res_find("cms-collections"), *rsite = res_find("cms-sites"),
                  *rent = res_find("cms-entries"), *rrev = res_find("cms-entry-revisions");
    store_val v[32];
    if (rcol->nfields > 32 || rsite->nfields > 32 || rent->nfields > 32 || rrev->nfields > 32)
        abort();
    store_err e;
    int64_t now = (int64_t)time_now_ms(), span = 730 * DAY_MS;
    check(store_begin(c, true, &e), &e, "begin");
    check(store_workspace_create(c, "bench-cms", &d->ws, &e), &e, "workspace create");
    make_keys_with(c, d->ws.id, "bench-cms", nkeys, "cms:read cms:write", d->tokens, d->key_id);
    check(engine_workspace_created(c, d->ws.id, &e), &e, "workspace set-up");
    for (int i = 0; i < rsite->nfields; i++)
        v[i] = (store_val){.kind = SV_NULL};
    v[field(rsite, "key")] = text("bench_blog");
    v[field(rsite, "name")] = text("Bench blog");
    v[field(rsite, "primary_domain")] = text("blog.bench.example");
    res_row row = {.vals = v};
    id_new(row.id, rsite->prefix);
    row.created_ms = row.updated_ms = now - span - DAY_MS;
    check(store_rec_insert(c, rsite, d->ws.id, &row, &e), &e, "site insert");
    memcpy(d->site, row.id, ID_MAX);
    for (int i = 0; i < rcol->nfields; i++)
        v[i] = (store_val){.kind = SV_NULL};
    v[field(rcol, "name")] = text("Articles");
    v[field(rcol, "key")] = text("articles");
    v[field(rcol, "description")] = text("The blog's articles: guides, case studies, news");
    v[field(rcol, "schema")] = text(cms_schema);
    id_new(row.id, rcol->prefix);
    check(store_rec_insert(c, rcol, d->ws.id, &row, &e), &e, "collection insert");
    memcpy(d->collection, row.id, ID_MAX);
    check(store_commit(c, &e), &e, "commit");

    const int e_col = field(rent, "collection_id"), e_title = field(rent, "title"),
              e_status = field(rent, "status"), e_type = field(rent, "content_type"),
              e_fields = field(rent, "fields"), e_site = field(rent, "site_id"),
              e_rev = field(rent, "revision"), e_pub = field(rent, "published_at"),
              e_search = field(rent, "search_text");
    const int e_ukey = field(rent, "unique_key");
    const int r_entry = field(rrev, "entry_id"), r_rev = field(rrev, "revision"),
              r_change = field(rrev, "change"), r_actor = field(rrev, "actor"),
              r_title = field(rrev, "title"), r_status = field(rrev, "status"),
              r_type = field(rrev, "content_type"), r_fields = field(rrev, "fields"),
              r_site = field(rrev, "site_id");
    static const char *const statuses[] = {"published", "draft", "review", "archived"};
    static const unsigned status_w[] = {70, 15, 10, 5};
    static const char *const types[] = {"article",      "blog_post",    "case_study",
                                        "landing_page", "website_page", "email"};
    static const unsigned type_w[] = {40, 35, 10, 5, 5, 5};
    buf body, summary, st, slug;
    buf_init(&body, 1 << 20);
    buf_init(&summary, 1 << 20);
    buf_init(&st, 1 << 20);
    buf_init(&slug, 1 << 16);
    store_val rv[32];
    double t0 = now_s();
    long step = n >= 100000 ? 20000 : 5000;
    d->n = n;
    d->sample_serial = n * 7 / 9 + 1;
    for (long i = 0; i < n; i++) {
        if (i % BATCH == 0) check(store_begin(c, true, &e), &e, "begin");
        long serial = i + 1;
        size_t t = zipf_topic(), t2 = zipf_topic();
        char title[300], low[64];
        const char *pat = PICK(cms_patterns), *aud = PICK(cms_audiences);
        /* Each pattern's arguments, in its order. */
        if (strstr(pat, "%d ways"))
            snprintf(title, sizeof title, pat, 3 + (int)below(10), cms_topics[t]);
        else if (strstr(pat, "%d"))
            snprintf(title, sizeof title, pat, cms_topics[t], 2023 + (int)below(4));
        else if (strstr(pat, "lessons"))
            snprintf(title, sizeof title, pat, cms_topics[t], PICK(co_adj));
        else if (strstr(pat, "What %s"))
            snprintf(title, sizeof title, pat, aud, cms_topics[t]);
        else if (strstr(pat, "for %s"))
            snprintf(title, sizeof title, pat, cms_topics[t], aud);
        else
            snprintf(title, sizeof title, pat, cms_topics[t]);
        buf_reset(&slug);
        for (const char *p = title; *p; p++) {
            char ch = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) : *p;
            bool word = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
            if (word)
                buf_putc(&slug, ch);
            else if (slug.len && slug.data[slug.len - 1] != '-')
                buf_putc(&slug, '-');
        }
        if (slug.len && slug.data[slug.len - 1] != '-') buf_putc(&slug, '-');
        buf_printf(&slug, "%ld", serial);
        buf_reset(&summary);
        lower(low, sizeof low, cms_topics[t]);
        buf_printf(&summary, "What we learned about %s, and what to do about it.", low);
        buf_reset(&body);
        int ns = 4 + (int)below(6);
        for (int k = 0; k < ns; k++)
            sentence(&body, k % 2 ? t2 : t);
        if (below(100) == 0)
            buf_printf(&body, " Internally we call this project %s.", PICK(cms_codenames));
        char author[128];
        snprintf(author, sizeof author, "%s %s", PICK(first_names), PICK(last_names));
        json_t *fs = json_object();
        json_object_set_new(fs, "slug", json_string(buf_cstr(&slug)));
        json_object_set_new(fs, "summary", json_string(buf_cstr(&summary)));
        json_object_set_new(fs, "body", json_string(buf_cstr(&body)));
        json_object_set_new(fs, "category", json_string(PICK(cms_categories)));
        if (below(10)) json_object_set_new(fs, "author", json_string(author));
        json_object_set_new(fs, "reading_minutes", json_integer(1 + (json_int_t)body.len / 200));
        char *fields = json_dumps(fs, JSON_COMPACT | JSON_SORT_KEYS);
        /* search_text: the title's words marked, then the text fields'
         * values in the schema's order (slug, summary, body, author). */
        buf_reset(&st);
        search_words(title, title_word, &st);
        static const char *const text_keys[] = {"slug", "summary", "body", "author"};
        for (size_t k = 0; k < NELEM(text_keys); k++) {
            json_t *tv = json_object_get(fs, text_keys[k]);
            if (!tv) continue;
            buf_putc(&st, '\n');
            buf_puts(&st, json_string_value(tv));
        }
        const char *status = statuses[weighted(status_w, NELEM(status_w))];
        const char *type = types[weighted(type_w, NELEM(type_w))];
        bool on_site = below(10) != 0;
        for (int k = 0; k < rent->nfields; k++)
            v[k] = (store_val){.kind = SV_NULL};
        v[e_col] = text(d->collection);
        v[e_title] = text(title);
        v[e_status] = text(status);
        v[e_type] = text(type);
        v[e_fields] = text(fields);
        v[e_site] = text(on_site ? d->site : NULL);
        v[e_rev] = integer(1);
        v[e_search] = text(buf_cstr(&st));
        /* cms.c's unique_key: the first unique field's key (slug) and the
         * SHA-256 of its value as compact JSON. */
        char ukey[16 + TOKEN_HASH_HEX];
        char *sv = json_dumps(json_object_get(fs, "slug"), JSON_COMPACT | JSON_ENCODE_ANY);
        memcpy(ukey, "slug\n", 5);
        sha256_hex(sv, strlen(sv), ukey + 5);
        free(sv);
        v[e_ukey] = text(ukey);
        int64_t created = now - span + span / n * i + (int64_t)below((uint64_t)(span / n) + 1);
        if (strcmp(status, "published") == 0) v[e_pub] = integer(created);
        res_row er = {.vals = v};
        id_new(er.id, rent->prefix);
        er.created_ms = er.updated_ms = created;
        check(store_rec_insert(c, rent, d->ws.id, &er, &e), &e, "entry insert");
        if (serial == d->sample_serial) {
            memcpy(d->sample, er.id, ID_MAX);
            snprintf(d->sample_slug, sizeof d->sample_slug, "%s", buf_cstr(&slug));
        }
        for (int k = 0; k < rrev->nfields; k++)
            rv[k] = (store_val){.kind = SV_NULL};
        rv[r_entry] = text(er.id);
        rv[r_rev] = integer(1);
        rv[r_change] = text("created");
        rv[r_actor] = text(d->key_id);
        rv[r_title] = text(title);
        rv[r_status] = text(status);
        rv[r_type] = text(type);
        rv[r_fields] = text(fields);
        rv[r_site] = text(on_site ? d->site : NULL);
        res_row rr = {.vals = rv};
        id_new(rr.id, rrev->prefix);
        rr.created_ms = rr.updated_ms = created;
        check(store_rec_insert(c, rrev, d->ws.id, &rr, &e), &e, "revision insert");
        free(fields);
        json_decref(fs);
        if ((i + 1) % BATCH == 0 || i + 1 == n) check(store_commit(c, &e), &e, "commit");
        if ((i + 1) % step == 0 || i + 1 == n) progress("cms entries", i + 1, n, t0);
    }
    buf_free(&body);
    buf_free(&summary);
    buf_free(&st);
    buf_free(&slug);
}

/* Countries of the BI workspace's contacts as ISO codes, skewed as a
 * US-based company's customers are (weights in tenths of a percent; the
 * rest, 3%, without one). */
static const char *const bi_countries[] = {
    "US", "GB", "DE", "FR", "CA", "IN", "AU", "NL", "ES", "IT", "BR", "SE", "JP", "MX",
    "PL", "IE", "CH", "BE", "DK", "NO", "FI", "AT", "PT", "SG", "ZA", "AR", "CL", "CO",
    "NZ", "IL", "AE", "KR", "CZ", "RO", "HU", "GR", "TR", "PH", "NG", "KE",
};
static const unsigned bi_country_w[] = {
    300, 90, 80, 60, 50, 50, 40, 30, 30, 30, 30, 20, 20, 20, 20, 15, 15, 12, 10, 10,
    8,   8,  7,  7,  6,  5,  4,  4,  4,  4,  3,  3,  3,  3,  2,  2,  2,  2,  1,  1,
};

typedef struct bi_data {
    wspace w;
    long groups[NELEM(bi_countries) + 1]; /* contacts per country, the last without */
} bi_data;

/* The BI workspace: keys with bi:write and crm:read, companies, and n
 * contacts as the other workspaces' (gen_contact) with a skewed country. */
static void gen_bi(store_conn *c, bi_data *d, const res_def *rcon, const res_def *rcom,
                   store_val *vals, long n, long nkeys)
{
    store_err e;
    wspace *w = &d->w;
    long ncompanies = 10000;
    check(store_begin(c, true, &e), &e, "begin");
    check(store_workspace_create(c, "bench-bi", &w->ws, &e), &e, "workspace create");
    make_keys_with(c, w->ws.id, "bench-bi", nkeys, "bi:write crm:read", w->tokens, NULL);
    check(engine_workspace_created(c, w->ws.id, &e), &e, "workspace set-up");
    w->companies = calloc((size_t)ncompanies, sizeof(company));
    w->sample = calloc(SAMPLE_IDS, ID_MAX);
    if (!w->companies || !w->sample) abort();
    for (long k = 0; k < ncompanies; k++) {
        gen_company(rcom, vals, &w->companies[k], k);
        res_row row = {.vals = vals};
        id_new(row.id, rcom->prefix);
        row.created_ms = row.updated_ms = (int64_t)time_now_ms();
        check(store_rec_insert(c, rcom, w->ws.id, &row, &e), &e, "company insert");
        memcpy(w->companies[k].id, row.id, ID_MAX);
    }
    check(store_commit(c, &e), &e, "commit");
    const int f_country = field(rcon, "country"), f_city = field(rcon, "city");
    double t0 = now_s();
    long step = n >= 1000000 ? 200000 : 20000;
    for (long i = 0; i < n; i++) {
        if (i % BATCH == 0) check(store_begin(c, true, &e), &e, "begin");
        const char *custom = NULL;
        gen_contact(rcon, vals, &custom, w, ncompanies, i + 1);
        size_t k =
            below(1000) < 30 ? NELEM(bi_countries) : weighted(bi_country_w, NELEM(bi_country_w));
        d->groups[k]++;
        vals[f_country] = text(k < NELEM(bi_countries) ? bi_countries[k] : NULL);
        if (k == NELEM(bi_countries)) vals[f_city] = text(NULL);
        res_row row = {.vals = vals, .custom = custom};
        id_new(row.id, rcon->prefix);
        row.created_ms = row.updated_ms = (int64_t)time_now_ms();
        check(store_rec_insert(c, rcon, w->ws.id, &row, &e), &e, "contact insert");
        if ((i + 1) % BATCH == 0 || i + 1 == n) check(store_commit(c, &e), &e, "commit");
        if ((i + 1) % step == 0 || i + 1 == n) progress("bi contacts", i + 1, n, t0);
    }
    free(w->companies);
    free(w->sample);
}

/* Search queries that find rows in every workspace: name prefixes of two
 * and three letters (the FTS prefix index), whole names, a first and last
 * name together, an email fragment and company words. */
static const char *const queries[] = {
    "jo",       "ma",        "da",        "sa",       "el",     "ch",     "mar",
    "jen",      "mic",       "ste",       "ann",      "smi",    "joh",    "wil",
    "gar",      "nguyen",    "patel",     "olivia",   "james",  "robert", "maria",
    "john smi", "mary jo",   "sarah lee", "david.br", "emma.w", "acme",   "northwind",
    "summit",   "logistics", "analytics", "blue lab", "gmail",  "jensen", "quantum dyn",
};

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench-gen: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

/* Pins ANCHORS deals spread evenly over each open stage of the board: the
 * move scenario never moves them and uses them as above_id, so an anchor is
 * always in the stage the request names. */
static void pick_anchors(board *b)
{
    for (int k = 0; k < NOPEN; k++) {
        long n = b->p.count[k], want = n < ANCHORS ? n : ANCHORS, seen = 0, next = 0;
        for (long i = 0; i < b->n && next < want; i++) {
            if (b->stage[i] != k) continue;
            /* The (next + 1/2)-th share of the stage's deals. */
            if (seen == (2 * next + 1) * n / (2 * want)) {
                b->anchor[i] = true;
                next++;
            }
            seen++;
        }
    }
}

static void write_board(FILE *f, const board *b, long dashboard_ws)
{
    fputs("  board = {\n    ws = 1,\n    tokens = {\n", f);
    for (int k = 0; k < BOARD_KEYS; k++)
        fprintf(f, "      \"%s\",\n", b->tokens[k]);
    fprintf(f, "    },\n    pipeline = \"%s\",\n    stages = {", b->p.id);
    for (int k = 0; k < NSTAGES; k++)
        fprintf(f, "\"%s\",", b->p.stage[k]);
    fputs("},\n    open_stages = {", f);
    for (int k = 0; k < NOPEN; k++)
        fprintf(f, "\"%s\",", b->p.stage[k]);
    fputs("},\n    anchors = {\n", f);
    for (int k = 0; k < NOPEN; k++) {
        fputs("      {", f);
        int n = 0;
        for (long i = 0; i < b->n; i++)
            if (b->anchor[i] && b->stage[i] == k)
                fprintf(f, "\"%s\",%s", b->ids[i], ++n % 4 == 0 ? "\n       " : "");
        fputs("},\n", f);
    }
    fputs("    },\n    deals = {\n     ", f);
    long n = 0;
    for (long i = 0; i < b->n; i++)
        if (!b->anchor[i]) fprintf(f, "\"%s\",%s", b->ids[i], ++n % 4 == 0 ? "\n     " : "");
    fprintf(f, "},\n  },\n  dashboard_ws = %ld,\n", dashboard_ws + 1);
}

/* The workspaces of the ledger and of the tickets: the second and the
 * third, as far as there are workspaces. */
static long ledger_ws(const params *p)
{
    return 1 % p->workspaces;
}
static long tickets_ws(const params *p)
{
    return 2 % p->workspaces;
}

/* The workspace with the most deals (the first holds the board's too). */
static long busiest(const params *p, const wspace *ws)
{
    long best = 0;
    for (long w = 1; w < p->workspaces; w++)
        if (ws[w].deals > ws[best].deals) best = w;
    return best;
}

static void write_lua(const params *p, const wspace *ws, int nsample, const board *b,
                      const cms_data *cms, const bi_data *bi)
{
    FILE *f = open_out(p->lua);
    fprintf(f,
            "-- generated by bench-gen %d: %ld contacts, %ld deals (+%ld on the board) in %ld "
            "workspaces, %ld journal lines, %ld tickets\nreturn {\n",
            GEN_VERSION, p->contacts, p->deals, p->board_deals, p->workspaces, p->journal_lines,
            p->tickets);
    fputs("  tokens = {\n", f);
    for (long w = 0; w < p->workspaces; w++)
        for (long k = 0; k < p->keys; k++)
            fprintf(f, "    \"%s\",\n", ws[w].tokens[k]);
    fputs("  },\n  token_ws = {", f);
    for (long w = 0; w < p->workspaces; w++)
        for (long k = 0; k < p->keys; k++)
            fprintf(f, "%ld,", w + 1);
    fputs("},\n  ids = {\n", f);
    for (long w = 0; w < p->workspaces; w++) {
        int n = ws[w].seen < nsample ? (int)ws[w].seen : nsample;
        fputs("    {", f);
        for (int i = 0; i < n; i++)
            fprintf(f, "\"%s\",%s", ws[w].sample[i], i % 4 == 3 ? "\n     " : "");
        fputs("},\n", f);
    }
    fputs("  },\n  queries = {\n", f);
    for (size_t i = 0; i < NELEM(queries); i++)
        fprintf(f, "    \"%s\",\n", queries[i]);
    fputs("  },\n", f);
    write_board(f, b, busiest(p, ws));
    fprintf(f, "  ledger_ws = %ld,\n  tickets_ws = %ld,\n", ledger_ws(p) + 1, tickets_ws(p) + 1);
    fprintf(f, "  cms = {\n    collection = \"%s\",\n    site = \"%s\",\n    tokens = {",
            cms->collection, cms->site);
    for (long k = 0; k < BOARD_KEYS; k++)
        fprintf(f, "\"%s\",", cms->tokens[k]);
    fputs("},\n    queries = {", f);
    for (size_t i = 0; i < NELEM(cms_queries); i++)
        fprintf(f, "\"%s\",", cms_queries[i]);
    fputs("},\n  },\n  bi = {\n    tokens = {", f);
    for (long k = 0; k < p->keys; k++)
        fprintf(f, "\"%s\",", bi->w.tokens[k]);
    fputs("},\n  },\n}\n", f);
    if (fclose(f) != 0) {
        fprintf(stderr, "bench-gen: cannot write %s\n", p->lua);
        exit(1);
    }
}

static void write_sh(const params *p, const wspace *ws, const board *b, const cms_data *cms,
                     const bi_data *bi)
{
    FILE *f = open_out(p->sh);
    fprintf(f, "# generated by bench-gen %d; sourced by bench/run.sh\n", GEN_VERSION);
    fprintf(f, "BENCH_TOKEN='%s'\n", ws[0].tokens[0]);
    fprintf(f, "BENCH_SAMPLE_ID='%s'\n", ws[0].sample[0]);
    fprintf(f, "BENCH_QUERY='%s'\n", queries[0]);
    fprintf(f, "BENCH_BOARD_PIPELINE='%s'\n", b->p.id);
    long mover = 0, anchor = 0;
    while (mover < b->n && b->anchor[mover])
        mover++;
    while (anchor < b->n && !(b->anchor[anchor] && b->stage[anchor] == 1))
        anchor++;
    if (mover == b->n || anchor == b->n) {
        fprintf(stderr, "bench-gen: the board has no deal to move or no anchor\n");
        exit(1);
    }
    fprintf(f, "BENCH_MOVE_DEAL='%s'\n", b->ids[mover]);
    fprintf(f, "BENCH_MOVE_STAGE='%s'\n", b->p.stage[1]);
    fprintf(f, "BENCH_MOVE_ANCHOR='%s'\n", b->ids[anchor]);
    long dws = busiest(p, ws);
    fprintf(f, "BENCH_BOARD_TOKEN='%s'\n", b->tokens[0]);
    fprintf(f, "BENCH_DASHBOARD_TOKEN='%s'\n", dws == 0 ? b->tokens[0] : ws[dws].tokens[0]);
    fprintf(f, "BENCH_LEDGER_TOKEN='%s'\n", ws[ledger_ws(p)].tokens[0]);
    fprintf(f, "BENCH_TICKETS_TOKEN='%s'\n", ws[tickets_ws(p)].tokens[0]);
    fprintf(f, "BENCH_CMS_TOKEN='%s'\n", cms->tokens[0]);
    fprintf(f, "BENCH_CMS_COLLECTION='%s'\n", cms->collection);
    fprintf(f, "BENCH_CMS_QUERY='%s'\n", cms_queries[0]);
    fprintf(f, "BENCH_CMS_ENTRY='%s'\n", cms->sample);
    fprintf(f, "BENCH_CMS_ENTRY_SLUG='%s'\n", cms->sample_slug);
    fprintf(f, "BENCH_CMS_ENTRY_SERIAL='%ld'\n", cms->sample_serial);
    fprintf(f, "BENCH_BI_TOKEN='%s'\n", bi->w.tokens[0]);
    long groups = 0;
    for (size_t k = 0; k <= NELEM(bi_countries); k++)
        groups += bi->groups[k] > 0;
    fprintf(f, "BENCH_BI_GROUPS='%ld'\n", groups);
    if (fclose(f) != 0) {
        fprintf(stderr, "bench-gen: cannot write %s\n", p->sh);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    params p;
    parse_args(argc, argv, &p);
    rng_state = p.seed * 0x9E3779B97F4A7C15ull;
    if (access(p.db, F_OK) == 0) {
        fprintf(stderr, "bench-gen: %s exists; the generator only fills a new database\n", p.db);
        return 1;
    }
    const res_def *rcon = res_find("contacts"), *rcom = res_find("companies"),
                  *rdeal = res_find("deals"), *rtask = res_find("tasks"),
                  *rlead = res_find("leads"), *rjl = res_find("journal-lines"),
                  *rticket = res_find("tickets");
    if (!rcon || !rcom || !rdeal || !rtask || !rlead || !rjl || !rticket ||
        !res_find("journal-entries") || !res_find("accounting-accounts") ||
        !res_find("support-queues")) {
        fprintf(stderr, "bench-gen: the registry lacks contacts, companies, deals, tasks, leads, "
                        "the ledger's or the tickets' resources\n");
        return 1;
    }
    store *db = NULL;
    store_conn *c = NULL;
    store_err e;
    store_opts so = {.durable = false, .busy_ms = 5000};
    check(store_open(&db, p.db, &so, &e), &e, "open");
    check(store_connect(db, &c, &e), &e, "connect");
    int applied = 0;
    check(store_migrate(c, &applied, &e), &e, "migrate");

    printf("bench-gen: %ld contacts, %ld deals (+%ld on the board), %ld workspaces x (%ld "
           "companies, %ld keys, %ld tasks, %ld leads), %ld journal lines, %ld tickets into %s\n",
           p.contacts, p.deals, p.board_deals, p.workspaces, p.companies, p.keys, p.tasks, p.leads,
           p.journal_lines, p.tickets, p.db);
    double t_start = now_s();
    wspace *ws = calloc((size_t)p.workspaces, sizeof *ws);
    if (!ws) abort();
    check(store_begin(c, true, &e), &e, "begin");
    for (long w = 0; w < p.workspaces; w++) {
        char name[64];
        snprintf(name, sizeof name, "bench-%02ld", w + 1);
        check(store_workspace_create(c, name, &ws[w].ws, &e), &e, "workspace create");
        make_keys(c, ws[w].ws.id, "bench", p.keys, ws[w].tokens);
        /* What the server gives every workspace: the default pipeline. */
        check(engine_workspace_created(c, ws[w].ws.id, &e), &e, "workspace set-up");
        load_default_pipeline(c, ws[w].ws.id, &ws[w].sales);
        ws[w].companies = calloc((size_t)p.companies, sizeof(company));
        ws[w].sample = calloc(SAMPLE_IDS, ID_MAX);
        ws[w].dsample = calloc(SAMPLE_IDS, ID_MAX);
        if (!ws[w].companies || !ws[w].sample || !ws[w].dsample) abort();
    }
    board b = {.n = p.board_deals};
    create_pipeline(c, ws[0].ws.id, "Board", &b.p);
    make_keys(c, ws[0].ws.id, "bench-board", BOARD_KEYS, b.tokens);
    b.ids = calloc((size_t)b.n, ID_MAX);
    b.stage = calloc((size_t)b.n, 1);
    b.anchor = calloc((size_t)b.n, sizeof(bool));
    if (!b.ids || !b.stage || !b.anchor) abort();
    check(store_commit(c, &e), &e, "commit");

    int nfields = 0;
    const res_def *all[] = {rcon, rcom, rdeal, rtask, rlead, rticket};
    for (size_t i = 0; i < NELEM(all); i++)
        nfields = all[i]->nfields > nfields ? all[i]->nfields : nfields;
    store_val *vals = calloc((size_t)nfields, sizeof *vals);
    if (!vals) abort();
    long total_co = p.workspaces * p.companies, done = 0;
    double t0 = now_s();
    /* Companies: workspace by workspace is fine, nothing lists them here. */
    for (long w = 0; w < p.workspaces; w++) {
        for (long k = 0; k < p.companies; k++, done++) {
            if (done % BATCH == 0) check(store_begin(c, true, &e), &e, "begin");
            company *co = &ws[w].companies[k];
            gen_company(rcom, vals, co, k);
            res_row row = {.vals = vals, .custom = NULL};
            id_new(row.id, rcom->prefix);
            row.created_ms = row.updated_ms = (int64_t)time_now_ms();
            check(store_rec_insert(c, rcom, ws[w].ws.id, &row, &e), &e, "company insert");
            memcpy(co->id, row.id, ID_MAX);
            if ((done + 1) % BATCH == 0 || done + 1 == total_co)
                check(store_commit(c, &e), &e, "commit");
        }
    }
    progress("companies", done, total_co, t0);
    double t_companies = now_s() - t0;

    t0 = now_s();
    long step = p.contacts >= 1000000 ? 100000 : p.contacts >= 100000 ? 20000 : 5000;
    for (long i = 0; i < p.contacts; i++) {
        if (i % BATCH == 0) check(store_begin(c, true, &e), &e, "begin");
        wspace *w = &ws[i % p.workspaces];
        const char *custom = NULL;
        gen_contact(rcon, vals, &custom, w, p.companies, i + 1);
        res_row row = {.vals = vals, .custom = custom};
        id_new(row.id, rcon->prefix);
        row.created_ms = row.updated_ms = (int64_t)time_now_ms();
        check(store_rec_insert(c, rcon, w->ws.id, &row, &e), &e, "contact insert");
        /* Reservoir sampling: every contact of the workspace is equally
         * likely to be among the ids the GET scenario asks for. */
        if (w->seen < SAMPLE_IDS)
            memcpy(w->sample[w->seen], row.id, ID_MAX);
        else if (below((uint64_t)w->seen + 1) < SAMPLE_IDS)
            memcpy(w->sample[below(SAMPLE_IDS)], row.id, ID_MAX);
        w->seen++;
        if ((i + 1) % BATCH == 0 || i + 1 == p.contacts) check(store_commit(c, &e), &e, "commit");
        if ((i + 1) % step == 0 || i + 1 == p.contacts) progress("contacts", i + 1, p.contacts, t0);
    }
    double t_contacts = now_s() - t0;

    /* Deals: all in the first workspace, so its dashboard faces every one
     * of them; the default pipeline's first, then the board's. */
    t0 = now_s();
    int64_t now_ms = (int64_t)time_now_ms();
    long total_deals = p.deals + p.board_deals;
    step = total_deals >= 100000 ? 50000 : 10000;
    for (long i = 0; i < total_deals; i++) {
        if (i % BATCH == 0) check(store_begin(c, true, &e), &e, "begin");
        bool on_board = i >= p.deals;
        wspace *w = &ws[0];
        int k = gen_deal(rdeal, vals, w, on_board ? &b.p : &w->sales, p.companies, now_ms);
        res_row row = {.vals = vals, .custom = NULL};
        id_new(row.id, rdeal->prefix);
        row.created_ms = row.updated_ms = (int64_t)time_now_ms();
        check(store_rec_insert(c, rdeal, w->ws.id, &row, &e), &e, "deal insert");
        if (on_board) {
            memcpy(b.ids[i - p.deals], row.id, ID_MAX);
            b.stage[i - p.deals] = (unsigned char)k;
        }
        if (w->deals < SAMPLE_IDS)
            memcpy(w->dsample[w->deals], row.id, ID_MAX);
        else if (below((uint64_t)w->deals + 1) < SAMPLE_IDS)
            memcpy(w->dsample[below(SAMPLE_IDS)], row.id, ID_MAX);
        w->deals++;
        if ((i + 1) % BATCH == 0 || i + 1 == total_deals) check(store_commit(c, &e), &e, "commit");
        if ((i + 1) % step == 0 || i + 1 == total_deals) progress("deals", i + 1, total_deals, t0);
    }
    pick_anchors(&b);
    /* Inserted below the engine: count the board's and dashboard's totals
     * from the rows, as a migration does when a rollup is declared. */
    check(store_begin(c, true, &e), &e, "begin");
    check(store_rollup_rebuild(c, rdeal, &e), &e, "rollup rebuild");
    check(store_commit(c, &e), &e, "commit");
    double t_deals = now_s() - t0;

    /* Tasks, then leads, interleaved over the workspaces. */
    t0 = now_s();
    for (int kind = 0; kind < 2; kind++) {
        const res_def *r = kind ? rlead : rtask;
        long total = (kind ? p.leads : p.tasks) * p.workspaces;
        double t1 = now_s();
        for (long i = 0; i < total; i++) {
            if (i % BATCH == 0) check(store_begin(c, true, &e), &e, "begin");
            wspace *w = &ws[i % p.workspaces];
            if (kind)
                gen_lead(r, vals, w, p.companies, i + 1, now_ms);
            else
                gen_task(r, vals, w, p.companies, now_ms);
            res_row row = {.vals = vals, .custom = NULL};
            id_new(row.id, r->prefix);
            row.created_ms = row.updated_ms = (int64_t)time_now_ms();
            check(store_rec_insert(c, r, w->ws.id, &row, &e), &e,
                  kind ? "lead insert" : "task insert");
            if ((i + 1) % BATCH == 0 || i + 1 == total) check(store_commit(c, &e), &e, "commit");
        }
        if (total) progress(r->name, total, total, t1);
    }
    double t_other = now_s() - t0;

    /* The ledger, then the tickets, each in a workspace of its own. */
    t0 = now_s();
    wspace *lw = &ws[ledger_ws(&p)], *tw = &ws[tickets_ws(&p)];
    ledger *led = calloc(1, sizeof *led);
    if (!led) abort();
    check(store_begin(c, true, &e), &e, "begin");
    make_chart(c, lw->ws.id, led);
    check(store_commit(c, &e), &e, "commit");
    if (p.journal_lines > 0)
        gen_ledger(c, lw, led, p.journal_lines, p.companies, (int64_t)time_now_ms());
    free(led);
    /* Posted below the engine too: balances read the rollups (per
     * account, side and day; and per account and side). */
    res_def rjl_total = res_rollup2_def(rjl);
    check(store_begin(c, true, &e), &e, "begin");
    check(store_rollup_rebuild(c, rjl, &e), &e, "rollup rebuild");
    check(store_rollup_rebuild(c, &rjl_total, &e), &e, "rollup rebuild");
    check(store_commit(c, &e), &e, "commit");
    double t_ledger = now_s() - t0;

    t0 = now_s();
    support sup = {0};
    int64_t tnow = (int64_t)time_now_ms();
    check(store_begin(c, true, &e), &e, "begin");
    make_queues(c, tw->ws.id, &sup, tnow);
    check(store_commit(c, &e), &e, "commit");
    step = p.tickets >= 1000000 ? 100000 : 10000;
    for (long i = 0; i < p.tickets; i++) {
        if (i % BATCH == 0) check(store_begin(c, true, &e), &e, "begin");
        res_row row = {.vals = vals, .custom = NULL};
        gen_ticket(rticket, vals, tw, &sup, p.companies, i, p.tickets, tnow, &row.created_ms,
                   &row.updated_ms);
        id_new(row.id, rticket->prefix);
        check(store_rec_insert(c, rticket, tw->ws.id, &row, &e), &e, "ticket insert");
        if ((i + 1) % BATCH == 0 || i + 1 == p.tickets) check(store_commit(c, &e), &e, "commit");
        if ((i + 1) % step == 0 || i + 1 == p.tickets) progress("tickets", i + 1, p.tickets, t0);
    }
    if (p.tickets)
        printf("  tickets by status: %ld new, %ld open, %ld pending, %ld waiting_on_customer, %ld "
               "resolved, %ld closed\n  by sla_status: %ld on_track, %ld at_risk, %ld breached, "
               "%ld met, %ld without a queue\n",
               sup.by_status[0], sup.by_status[1], sup.by_status[2], sup.by_status[3],
               sup.by_status[4], sup.by_status[5], sup.by_sla[0], sup.by_sla[1], sup.by_sla[2],
               sup.by_sla[3], sup.by_sla[4]);
    double t_tickets = now_s() - t0;

    t0 = now_s();
    cms_data *cms = calloc(1, sizeof *cms);
    if (!cms) abort();
    gen_cms(c, cms, p.cms_entries, BOARD_KEYS);
    double t_cms = now_s() - t0;
    t0 = now_s();
    bi_data *bi = calloc(1, sizeof *bi);
    if (!bi) abort();
    gen_bi(c, bi, rcon, rcom, vals, p.bi_contacts, p.keys);
    double t_bi = now_s() - t0;
    {
        size_t nc = NELEM(bi_countries);
        printf("  bi contacts by country: %s %ld, %s %ld, %s %ld, ... %s %ld, none %ld\n",
               bi_countries[0], bi->groups[0], bi_countries[1], bi->groups[1], bi_countries[2],
               bi->groups[2], bi_countries[nc - 1], bi->groups[nc - 1], bi->groups[nc]);
    }

    /* The upkeep a serving Cairn does while idle (the writer thread runs
     * store_maintain), done to the end here, so the search scenario meets
     * the index a server in service has rather than a bulk load's. */
    t0 = now_s();
    for (bool more = true; more;)
        check(store_maintain(c, 4096, &more, &e), &e, "maintain");
    double t_upkeep = now_s() - t0;

    store_disconnect(c); /* the last connection checkpoints the WAL away */
    store_close(db);
    write_lua(&p, ws, SAMPLE_IDS, &b, cms, bi);
    write_sh(&p, ws, &b, cms, bi);
    printf("bench-gen: done in %.1f s (companies %.1f s, contacts %.1f s = %.0f rows/s, deals "
           "%.1f s, tasks and leads %.1f s, ledger %.1f s, tickets %.1f s, cms %.1f s, bi %.1f s, "
           "upkeep %.1f s)\n",
           now_s() - t_start, t_companies, t_contacts,
           t_contacts > 0 ? (double)p.contacts / t_contacts : 0.0, t_deals, t_other, t_ledger,
           t_tickets, t_cms, t_bi, t_upkeep);
    free(cms);
    free(bi);
    for (long w = 0; w < p.workspaces; w++) {
        free(ws[w].companies);
        free(ws[w].sample);
        free(ws[w].dsample);
    }
    free(ws);
    free(b.ids);
    free(b.stage);
    free(b.anchor);
    free(vals);
    return 0;
}
