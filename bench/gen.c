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
 * Besides the database it writes what the wrk scripts need: a Lua file
 * (tokens, the workspace of each token, a few hundred contact ids per
 * workspace sampled uniformly over the whole table, search queries) and a
 * shell file with one token, id and query for curl checks.
 *
 * usage: bench-gen --db PATH --lua PATH --sh PATH [--contacts N]
 *                  [--workspaces W] [--companies C] [--keys K] [--seed S]
 *        bench-gen --version */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "store/store.h"

/* Bump when the generated data changes shape: run.sh regenerates then. */
#define GEN_VERSION 2
#define BATCH       10000
#define SAMPLE_IDS  300
#define MAX_WS      64
#define MAX_KEYS    16

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

/* ------------------------------------------------------------------ model */

typedef struct company {
    char id[ID_MAX];
    char name[96];
    char domain[96];
} company;

typedef struct wspace {
    store_workspace ws;
    char tokens[MAX_KEYS][64];
    company *companies;
    char (*sample)[ID_MAX]; /* reservoir of contact ids */
    int64_t seen;           /* contacts in this workspace so far */
} wspace;

typedef struct params {
    const char *db, *lua, *sh;
    long contacts, workspaces, companies, keys;
    uint64_t seed;
} params;

static void usage(void)
{
    fputs("usage: bench-gen --db PATH --lua PATH --sh PATH [--contacts N] [--workspaces W]\n"
          "                 [--companies C] [--keys K] [--seed S]\n"
          "       bench-gen --version\n"
          "  --companies   companies per workspace (default: contacts per workspace / 10,\n"
          "                at most 10000)\n"
          "  --keys        API keys per workspace (default 4)\n",
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
    *p = (params){.contacts = 1000000, .workspaces = 10, .companies = -1, .keys = 4, .seed = 42};
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
    if (p->companies < 0) {
        long per_ws = p->contacts / p->workspaces / 10;
        p->companies = per_ws < 1 ? 1 : per_ws > 10000 ? 10000 : per_ws;
    }
}

/* ---------------------------------------------------------------- writing */

static void make_keys(store_conn *c, wspace *w, long nkeys)
{
    for (long k = 0; k < nkeys; k++) {
        store_key key = {0};
        id_new(key.id, "key");
        snprintf(key.workspace_id, sizeof key.workspace_id, "%s", w->ws.id);
        snprintf(key.name, sizeof key.name, "bench-%ld", k);
        snprintf(key.scopes, sizeof key.scopes, "crm:read crm:write");
        key.max_concurrent = -1; /* the server's defaults apply, as for any key */
        key.rate = -1;
        key.created_ms = (int64_t)time_now_ms();
        token_new(w->tokens[k]);
        char hash[TOKEN_HASH_HEX];
        sha256_hex(w->tokens[k], strlen(w->tokens[k]), hash);
        store_err e;
        check(store_key_create(c, &key, hash, &e), &e, "key create");
    }
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

static void progress(const char *what, long done, long total, double t0)
{
    double dt = now_s() - t0;
    printf("  %-9s %9ld / %-9ld %6.1f s  %8.0f rows/s\n", what, done, total, dt,
           dt > 0 ? (double)done / dt : 0.0);
    fflush(stdout);
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

static void write_lua(const params *p, const wspace *ws, int nsample)
{
    FILE *f = open_out(p->lua);
    fprintf(f, "-- generated by bench-gen %d: %ld contacts in %ld workspaces\nreturn {\n",
            GEN_VERSION, p->contacts, p->workspaces);
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
    fputs("  },\n}\n", f);
    if (fclose(f) != 0) {
        fprintf(stderr, "bench-gen: cannot write %s\n", p->lua);
        exit(1);
    }
}

static void write_sh(const params *p, const wspace *ws)
{
    FILE *f = open_out(p->sh);
    fprintf(f, "# generated by bench-gen %d; sourced by bench/run.sh\n", GEN_VERSION);
    fprintf(f, "BENCH_TOKEN='%s'\n", ws[0].tokens[0]);
    fprintf(f, "BENCH_SAMPLE_ID='%s'\n", ws[0].sample[0]);
    fprintf(f, "BENCH_QUERY='%s'\n", queries[0]);
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
    const res_def *rcon = res_find("contacts"), *rcom = res_find("companies");
    if (!rcon || !rcom) {
        fprintf(stderr, "bench-gen: the registry has no contacts or companies\n");
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

    printf("bench-gen: %ld contacts, %ld workspaces x (%ld companies, %ld keys) into %s\n",
           p.contacts, p.workspaces, p.companies, p.keys, p.db);
    double t_start = now_s();
    wspace *ws = calloc((size_t)p.workspaces, sizeof *ws);
    if (!ws) abort();
    check(store_begin(c, true, &e), &e, "begin");
    for (long w = 0; w < p.workspaces; w++) {
        char name[64];
        snprintf(name, sizeof name, "bench-%02ld", w + 1);
        check(store_workspace_create(c, name, &ws[w].ws, &e), &e, "workspace create");
        make_keys(c, &ws[w], p.keys);
        ws[w].companies = calloc((size_t)p.companies, sizeof(company));
        ws[w].sample = calloc(SAMPLE_IDS, ID_MAX);
        if (!ws[w].companies || !ws[w].sample) abort();
    }
    check(store_commit(c, &e), &e, "commit");

    store_val *vals = calloc(
        (size_t)(rcon->nfields > rcom->nfields ? rcon->nfields : rcom->nfields), sizeof *vals);
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

    store_disconnect(c); /* the last connection checkpoints the WAL away */
    store_close(db);
    write_lua(&p, ws, SAMPLE_IDS);
    write_sh(&p, ws);
    printf("bench-gen: done in %.1f s (companies %.1f s, contacts %.1f s = %.0f rows/s)\n",
           now_s() - t_start, t_companies, t_contacts,
           t_contacts > 0 ? (double)p.contacts / t_contacts : 0.0);
    for (long w = 0; w < p.workspaces; w++) {
        free(ws[w].companies);
        free(ws[w].sample);
    }
    free(ws);
    free(vals);
    return 0;
}
