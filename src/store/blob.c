/* blob.c - the blob store on local disk; see blob.h. */
#include "store/blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[BLOB_PATH / 2];
static bool ready;

static int fail(char err[BLOB_ERR], const char *what, const char *path)
{
    snprintf(err, BLOB_ERR, "%.20s %.160s: %.60s", what, path, strerror(errno));
    return -1;
}

static int mkdir_one(const char *path, char err[BLOB_ERR])
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST) return 0;
    return fail(err, "cannot create", path);
}

/* mkdir -p of a path we made: every '/' but a leading one splits. */
static int mkdir_all(const char *path, char err[BLOB_ERR])
{
    char p[BLOB_PATH];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir_one(p, err)) return -1;
        *s = '/';
    }
    return mkdir_one(p, err);
}

static int fsync_dir(const char *path, char err[BLOB_ERR])
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return fail(err, "cannot open", path);
    int rc = fsync(fd);
    close(fd);
    return rc ? fail(err, "cannot fsync", path) : 0;
}

int blob_init(const char *dir, int *removed, char err[BLOB_ERR])
{
    if (removed) *removed = 0;
    if (!dir || !*dir || strlen(dir) >= sizeof root - 64) {
        snprintf(err, BLOB_ERR, "the data directory must be a path shorter than %zu bytes",
                 sizeof root - 64);
        return -1;
    }
    snprintf(root, sizeof root, "%s", dir);
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        root[--n] = '\0';
    char p[BLOB_PATH];
    if (mkdir_all(root, err)) return -1;
    snprintf(p, sizeof p, "%s/blobs", root);
    if (mkdir_one(p, err)) return -1;
    snprintf(p, sizeof p, "%s/tmp", root);
    if (mkdir_one(p, err)) return -1;
    /* Whatever is in tmp/ was being written when the process died: never
     * committed, so never visible, and now garbage. */
    DIR *d = opendir(p);
    if (!d) return fail(err, "cannot open", p);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char f[BLOB_PATH + 256];
        snprintf(f, sizeof f, "%s/%s", p, e->d_name);
        if (unlink(f) == 0 && removed) (*removed)++;
    }
    closedir(d);
    ready = true;
    return 0;
}

bool blob_ready(void)
{
    return ready;
}

static bool id_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 90) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static int names_ok(const char *ws, const char *id, char err[BLOB_ERR])
{
    if (!ready) {
        snprintf(err, BLOB_ERR, "no data directory is configured");
        return -1;
    }
    if (!id_ok(ws) || !id_ok(id)) {
        snprintf(err, BLOB_ERR, "a blob is named by ids");
        return -1;
    }
    return 0;
}

int blob_put_begin(blob_put *p, const char *ws, const char *id, char err[BLOB_ERR])
{
    *p = (blob_put){.fd = -1};
    if (names_ok(ws, id, err)) return -1;
    unsigned char r[8];
    if (RAND_bytes(r, sizeof r) != 1) {
        snprintf(err, BLOB_ERR, "no random bytes");
        return -1;
    }
    snprintf(p->name, sizeof p->name, "%s_%02x%02x%02x%02x%02x%02x%02x%02x", id, r[0], r[1], r[2],
             r[3], r[4], r[5], r[6], r[7]);
    snprintf(p->tmp, sizeof p->tmp, "%s/tmp/%s.part", root, p->name);
    snprintf(p->final, sizeof p->final, "%s/blobs/%s/%s", root, ws, p->name);
    p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (p->fd < 0) return fail(err, "cannot create", p->tmp);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        blob_put_abort(p);
        snprintf(err, BLOB_ERR, "SHA-256 is unavailable");
        return -1;
    }
    p->md = md;
    return 0;
}

#define BLOB_WRITEBACK (1u << 20)

int blob_put_write(blob_put *p, const void *data, size_t n, char err[BLOB_ERR])
{
    const char *b = data;
    EVP_DigestUpdate(p->md, b, n);
    p->size += n;
    while (n) {
        ssize_t w = write(p->fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return fail(err, "cannot write", p->tmp);
        b += w;
        n -= (size_t)w;
    }
    /* The disk starts on each megabyte as it arrives, so the fsync before
     * the answer waits for the last one rather than for all of them. */
    if (p->size - p->started >= BLOB_WRITEBACK) {
        sync_file_range(p->fd, (off_t)p->started, (off_t)(p->size - p->started),
                        SYNC_FILE_RANGE_WRITE);
        p->started = p->size;
    }
    return 0;
}

int blob_put_commit(blob_put *p, uint64_t *size, char sha256_hex[65], char err[BLOB_ERR])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    EVP_DigestFinal_ex(p->md, d, &dn);
    for (unsigned i = 0; i < dn && i < 32; i++)
        snprintf(sha256_hex + 2 * i, 3, "%02x", d[i]);
    *size = p->size;
    char dir[BLOB_PATH];
    snprintf(dir, sizeof dir, "%s", p->final);
    *strrchr(dir, '/') = '\0';
    int rc = 0;
    /* Durable before visible: the rename is the commit, and the bytes it
     * names are on disk before it; the directory's fsync makes the name
     * itself survive a crash. */
    if (fsync(p->fd))
        rc = fail(err, "cannot fsync", p->tmp);
    else if (mkdir_one(dir, err))
        rc = -1;
    else if (rename(p->tmp, p->final))
        rc = fail(err, "cannot rename", p->tmp);
    else if (fsync_dir(dir, err))
        rc = -1;
    if (rc) {
        blob_put_abort(p);
        return -1;
    }
    close(p->fd);
    p->fd = -1;
    p->tmp[0] = '\0';
    EVP_MD_CTX_free(p->md);
    p->md = NULL;
    return 0;
}

void blob_put_abort(blob_put *p)
{
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    if (p->tmp[0]) unlink(p->tmp);
    p->tmp[0] = '\0';
    EVP_MD_CTX_free(p->md);
    p->md = NULL;
}

void blob_remove(const char *ws, const char *name)
{
    char err[BLOB_ERR], path[BLOB_PATH];
    if (names_ok(ws, name, err)) return;
    snprintf(path, sizeof path, "%s/blobs/%s/%s", root, ws, name);
    unlink(path);
}

int blob_open(const char *ws, const char *name, int *fd, uint64_t *size, char err[BLOB_ERR])
{
    if (names_ok(ws, name, err)) return -1;
    char path[BLOB_PATH];
    snprintf(path, sizeof path, "%s/blobs/%s/%s", root, ws, name);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return fail(err, "cannot open", path);
    struct stat st;
    if (fstat(*fd, &st)) {
        close(*fd);
        return fail(err, "cannot stat", path);
    }
    *size = (uint64_t)st.st_size;
    return 0;
}
