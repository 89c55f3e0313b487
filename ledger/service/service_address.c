/* service_address: listen addresses. Which ones are loopback (plaintext is
 * allowed only there, SPEC §9) and the "host:port" form written to the port
 * file once the port is known. Accepts "host:port", "[v6]:port",
 * "ipv4:"/"ipv6:" prefixed forms and "unix:path". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "service/service.h"

/* The host part (without brackets) into out; false if malformed. */
static bool split_host(char *out, size_t n, const char *listen)
{
    if (strncmp(listen, "ipv4:", 5) == 0 || strncmp(listen, "ipv6:", 5) == 0) listen += 5;
    const char *end;
    if (listen[0] == '[') {
        end = strchr(listen, ']');
        if (!end || end[1] != ':') return false;
        listen++;
    } else {
        end = strrchr(listen, ':');
        if (!end) return false;
    }
    size_t len = (size_t)(end - listen);
    if (len == 0 || len >= n) return false;
    memcpy(out, listen, len);
    out[len] = 0;
    return true;
}

bool mla_service_address_is_loopback(const char *listen)
{
    if (strncmp(listen, "unix:", 5) == 0) return true;
    char host[256];
    if (!split_host(host, sizeof host, listen)) return false;
    if (strcasecmp(host, "localhost") == 0) return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
        if (IN6_IS_ADDR_V4MAPPED(&a6)) return a6.s6_addr[12] == 127;
    }
    return false;
}

mla_status mla_service_address_with_port(mla_buf *out, const char *listen, int port)
{
    if (strncmp(listen, "unix:", 5) == 0) return mla_buf_append_cstr(out, listen);
    const char *colon = strrchr(listen, ':');
    if (!colon) return mla_err(MLA_EINVAL, "listen: \"%.100s\" is not host:port", listen);
    MLA_TRY(mla_buf_append(out, listen, (size_t)(colon - listen)));
    return mla_buf_printf(out, ":%d", port);
}
