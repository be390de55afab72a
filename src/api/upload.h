/* upload.h - the signed transfer routes of assets: the bytes of an
 * upload in, the bytes of a download out.
 *
 * Owns: PUT and GET /v1/assets/{id}/content, which a signature in the
 * link authorizes (resources/assets.c makes the links; a bearer key is
 * neither needed nor looked at), and the small interface a transport
 * streams an upload through, so that src/http/ moves bytes and knows
 * nothing of assets, and this file knows nothing of sockets:
 *
 *   upload_begin   the request's head is in: judge it before a byte of
 *                  the body is read (signature, expiry, the asset, its
 *                  Content-Type, the length against the caps) and open
 *                  a put in the blob store (store/blob.h)
 *   upload_write   each piece of the body as it arrives (hashed on the way)
 *   upload_end     the body is complete: fsync and rename, then the route's
 *                  handler hands the record of it to the writer
 *   upload_abort   the client left or the body was refused: nothing stays
 *
 * A transport that buffers whole bodies (HTTP/2 here) skips all four: the
 * handler runs them on the buffered body. A download answers with a file
 * (api_req.file_fd) that the transport streams in pieces. */
#ifndef CAIRN_UPLOAD_H
#define CAIRN_UPLOAD_H

#include <stdint.h>

#include "api/api.h"

#define UPLOAD_DEFAULT_MAX (100ll << 20)

/* The largest upload (--asset-max-bytes); set before serving. */
void upload_set_max(int64_t max_bytes);

/* Whether q (its method and path set) is an upload: PUT /v1/assets/{id}/content. */
bool upload_matches(api_req *q);
/* 0 with q->upload open, or -1 with q's error written. content_length
 * is -1 when the body is chunked (the caps are then checked as it
 * comes). */
int upload_begin(api_req *q, int64_t content_length);
/* -1 with q's error written (413 past a cap, 500 when the disk fails)
 * and the upload abandoned. */
int upload_write(api_req *q, const void *data, size_t n);
int upload_end(api_req *q);
void upload_abort(api_req *q);

/* The routes' handlers (routes.c binds them). */
int upload_put(api_req *q);
int upload_put_record(api_req *q); /* on the writer */
int upload_get(api_req *q);

#endif
