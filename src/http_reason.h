/* HTTP reason phrases (RFC 9110 section 15 and the IANA status code
 * registry), for the master's own answers and for a CGI script's bare
 * "Status: 201" in the instances (through _gaelic.reason_phrase). */
#ifndef GAELIC_HTTP_REASON_H
#define GAELIC_HTTP_REASON_H

/* The phrase of status, or "Unknown" for a code without one. */
const char *http_reason(int status);

#endif
