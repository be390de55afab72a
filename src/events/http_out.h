/* TEMPORARY: replaced by the http_out branch. */
#ifndef CAIRN_HTTP_OUT_H
#define CAIRN_HTTP_OUT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
bool http_out_check_url(const char *url, bool allow_private, char *why, size_t why_len);
#endif
