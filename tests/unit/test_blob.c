/* test_blob.c - the blob store (store/blob.c): a put is invisible until
 * committed, an abandoned one leaves nothing, names come from ids only,
 * and a start clears what a crash left in tmp/. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/blob.h"
#include "test.h"

/* Entries of dir (0 when it does not exist). */
static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

TEST(blob_put_commits_whole_or_leaves_nothing)
{
    char err[BLOB_ERR], dir[600], tmp[700], ws[700];
    snprintf(dir, sizeof dir, "%s", test_path("blobs"));
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    snprintf(ws, sizeof ws, "%s/blobs/wrk_1", dir);
    /* A leftover of a crash: removed by the start. */
    mkdir(dir, 0700);
    mkdir(tmp, 0700);
    char left[800];
    snprintf(left, sizeof left, "%s/asset_x_00.part", tmp);
    int fd = open(left, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    int removed = 0;
    if (!CHECK(blob_init(dir, &removed, err) == 0)) return;
    CHECK_EQ_INT(removed, 1);
    CHECK_EQ_INT(files_in(tmp), 0);

    blob_put p;
    CHECK(blob_put_begin(&p, "wrk_1", "asset_1", err) == 0);
    CHECK(blob_put_write(&p, "abc", 3, err) == 0);
    CHECK_EQ_INT(files_in(tmp), 1);    /* on its way ... */
    CHECK_EQ_INT(files_in(ws) > 0, 0); /* ... and not visible */
    uint64_t size = 0;
    char sha[65];
    CHECK(blob_put_commit(&p, &size, sha, err) == 0);
    CHECK_EQ_INT(size, 3);
    CHECK_STR(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_EQ_INT(files_in(tmp), 0);
    CHECK_EQ_INT(files_in(ws), 1);
    char name[96];
    snprintf(name, sizeof name, "%s", p.name);
    CHECK(strncmp(name, "asset_1_", 8) == 0);
    int rfd;
    uint64_t rsize = 0;
    if (CHECK(blob_open("wrk_1", name, &rfd, &rsize, err) == 0)) {
        char b[8] = {0};
        CHECK_EQ_INT(read(rfd, b, sizeof b), 3);
        CHECK_STR(b, "abc");
        CHECK_EQ_INT(rsize, 3);
        close(rfd);
    }

    /* Abandoned: nothing stays. */
    CHECK(blob_put_begin(&p, "wrk_1", "asset_2", err) == 0);
    CHECK(blob_put_write(&p, "zz", 2, err) == 0);
    blob_put_abort(&p);
    CHECK_EQ_INT(files_in(tmp), 0);
    CHECK_EQ_INT(files_in(ws), 1);

    /* Names are ids: nothing a client could make a path of. */
    CHECK(blob_put_begin(&p, "wrk_1", "../x", err) == -1);
    CHECK(blob_put_begin(&p, "..", "asset_3", err) == -1);
    CHECK(blob_open("wrk_1", "../../etc/passwd", &rfd, &rsize, err) == -1);
    CHECK(blob_open("wrk_1", "asset_1_missing", &rfd, &rsize, err) == -1);
    blob_remove("wrk_1", name);
    CHECK_EQ_INT(files_in(ws), 0);
}
