/* blob.h - the blob store: the bytes of assets, beside the row store.
 *
 * Owns: where an asset's bytes live and how they get there whole. Now a
 * directory on local disk (--data-dir); the interface is what an
 * S3-compatible store needs too (a put that streams and commits or is
 * abandoned, a read that streams), so that one can take its place later
 * without its callers changing. A blob is named by its workspace and
 * record ids, never by anything a client chose (a file name): ids are
 * checked to be [A-Za-z0-9_] before they become a path.
 *
 * Nothing half-written is ever visible: a put writes a temporary file
 * under <dir>/tmp, hashes (SHA-256) and counts the bytes on the way, and
 * on commit fsyncs it, renames it over <dir>/blobs/<ws>/<id> and fsyncs
 * the directory; blob_init removes what a crash left in <dir>/tmp.
 *
 * Thread-safe: each put or read is its caller's own; the directory is
 * set once before serving. Functions that can fail return 0, or -1 with
 * a message in err (BLOB_ERR bytes). */
#ifndef CAIRN_BLOB_H
#define CAIRN_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOB_ERR  256
#define BLOB_PATH 1024

/* Uses dir (created when absent, with blobs/ and tmp/ in it) and removes
 * the temporary files a crash left there; how many it removed in
 * *removed (may be NULL). */
int blob_init(const char *dir, int *removed, char err[BLOB_ERR]);
/* Whether blob_init succeeded: without a directory, uploads are refused. */
bool blob_ready(void);

typedef struct blob_put {
    int fd;
    uint64_t size;
    uint64_t started; /* bytes whose writeback has been started */
    void *md;         /* EVP_MD_CTX */
    char name[96];
    char tmp[BLOB_PATH], final[BLOB_PATH];
} blob_put;

/* Starts writing a new blob for record id in workspace ws; its name
 * (p->name: the id and a random suffix, so that one upload never replaces
 * another's bytes) is what the record keeps to find it. */
int blob_put_begin(blob_put *p, const char *ws, const char *id, char err[BLOB_ERR]);
int blob_put_write(blob_put *p, const void *data, size_t n, char err[BLOB_ERR]);
/* Makes the bytes durable and visible under the blob's name (replacing
 * an earlier one): their count and SHA-256 (lower-case hex) come back.
 * On failure the put is abandoned. */
int blob_put_commit(blob_put *p, uint64_t *size, char sha256_hex[65], char err[BLOB_ERR]);
/* Abandons the put: the temporary file goes. Harmless after a commit. */
void blob_put_abort(blob_put *p);

/* Opens blob `name` of workspace ws for reading: an fd the caller
 * closes, and its size. -1 with err set when it is absent. */
int blob_open(const char *ws, const char *name, int *fd, uint64_t *size, char err[BLOB_ERR]);
/* Removes blob `name` (an upload its record refused); absent is fine. */
void blob_remove(const char *ws, const char *name);

#endif
