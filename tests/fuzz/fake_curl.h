/* fake_curl.h - libcurl's transfer replaced, for targets that include a
 * .c file of src/ that talks HTTP (sms/sms_http.c, provider/upstream.c).
 *
 * Include it before that .c: curl_easy_setopt, curl_easy_perform and
 * curl_easy_getinfo then land here. The target fills fk's answer (status,
 * curl code, body) and may set fk.check to look at the request (URL, POST
 * body) when it is performed; the body is handed to the write callback in
 * pieces of up to 1000 bytes, each in its own exact-size buffer. Handles,
 * header lists and the rest of libcurl stay real; nothing is sent.
 */
#ifndef OTP_TESTS_FAKE_CURL_H
#define OTP_TESTS_FAKE_CURL_H

#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static struct {
	/* what the code under test set */
	curl_write_callback write;
	void *data;
	const char *url, *post;
	long post_len;
	/* the answer */
	long status;
	CURLcode rc;
	const char *resp;
	size_t resp_len;
	void (*check)(void); /* at perform, NULL: none */
	int performed;
} fk;

static CURLcode fake_setopt(CURL *c, CURLoption o, ...)
{
	va_list ap;
	(void)c;
	va_start(ap, o);
	switch (o) {
	case CURLOPT_WRITEFUNCTION:
		fk.write = va_arg(ap, curl_write_callback);
		break;
	case CURLOPT_WRITEDATA:
		fk.data = va_arg(ap, void *);
		break;
	case CURLOPT_URL:
		fk.url = va_arg(ap, const char *);
		break;
	case CURLOPT_POSTFIELDS:
		fk.post = va_arg(ap, const char *);
		if (fk.post)
			fk.post_len = (long)strlen(fk.post);
		break;
	case CURLOPT_POSTFIELDSIZE:
		fk.post_len = va_arg(ap, long);
		break;
	default:
		break;
	}
	va_end(ap);
	return CURLE_OK;
}

static CURLcode fake_perform(CURL *c)
{
	(void)c;
	fk.performed++;
	if (fk.check)
		fk.check();
	if (fk.rc != CURLE_OK)
		return fk.rc;
	for (size_t off = 0; off < fk.resp_len;) {
		size_t k = fk.resp_len - off < 1000 ? fk.resp_len - off : 1000;
		char *piece = malloc(k);
		if (!piece)
			abort();
		memcpy(piece, fk.resp + off, k);
		size_t took = fk.write(piece, 1, k, fk.data);
		free(piece);
		if (took != k)
			abort(); /* both callers read (and drop) everything */
		off += k;
	}
	return CURLE_OK;
}

static CURLcode fake_getinfo(CURL *c, CURLINFO i, ...)
{
	va_list ap;
	(void)c;
	va_start(ap, i);
	if (i == CURLINFO_RESPONSE_CODE)
		*va_arg(ap, long *) = fk.status;
	va_end(ap);
	return CURLE_OK;
}

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_setopt  fake_setopt
#define curl_easy_perform fake_perform
#define curl_easy_getinfo fake_getinfo

#endif
