/*
 * What pyro reads from a registry (common/oci.c): manifests of each kind
 * it takes (OCI and Docker v2 images, indexes, pyro's own artifacts), and
 * each kind of registry bytes it refuses by name (unknown media types,
 * absurd sizes, too many layers, bad digests, foreign URLs, a mediaType
 * the Content-Type contradicts); the bearer challenge of a 401.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "checkmain.h"

#include "oci.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static int
parse(const char *json, const char *ctype, struct oci_manifest *m, char *err)
{
	return oci_parse_manifest(json, strlen(json), ctype, m, err, 200);
}

START_TEST(image_manifest)
{
	struct oci_manifest	m;
	char			err[200];
	const char		*j = "{\"schemaVersion\":2,\"mediaType\":\""
	    OCI_MT_MANIFEST "\",\"config\":{\"mediaType\":"
	    "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1
	    "\",\"size\":10},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2
	    "\",\"size\":1234},{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D1
	    "\",\"size\":0}]}";

	ck_assert_int_eq(parse(j, OCI_MT_MANIFEST, &m, err), 0);
	ck_assert_int_eq(m.kind, OCI_KIND_MANIFEST);
	ck_assert_int_eq(m.nlayers, 2);
	ck_assert_int_eq(m.layers[0].layer, OCI_LAYER_TAR_GZIP);
	ck_assert_int_eq(m.layers[1].layer, OCI_LAYER_TAR_ZSTD);
	ck_assert(m.layers[0].size == 1234);
	ck_assert_str_eq(m.config.digest, D1);
}
END_TEST

START_TEST(docker_and_pyro)
{
	struct oci_manifest	m;
	char			err[200];
	/* Docker v2: the mediaType is in the document. */
	const char		*docker = "{\"schemaVersion\":2,\"mediaType\":\""
	    OCI_MT_DOCKER_MANIFEST "\",\"config\":{\"mediaType\":"
	    "\"application/vnd.docker.container.image.v1+json\",\"digest\":\""
	    D1 "\",\"size\":5},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
	    "\"digest\":\"" D2 "\",\"size\":7}]}";
	/* pyro's artifact: parts with titles, annotations. */
	const char		*pyro = "{\"schemaVersion\":2,\"mediaType\":\""
	    OCI_MT_MANIFEST "\",\"artifactType\":\"" OCI_ARTIFACT_PYRO "\","
	    "\"config\":{\"mediaType\":\"" OCI_MT_PYRO_CONFIG "\",\"digest\":\""
	    D1 "\",\"size\":2},\"layers\":[{\"mediaType\":\"" OCI_MT_PYRO_PART
	    "+zstd\",\"digest\":\"" D2 "\",\"size\":9,\"annotations\":"
	    "{\"org.opencontainers.image.title\":\"rootfs.ext4\"}}],"
	    "\"annotations\":{\"dev.pyro.catalog.version\":\"3.2.0\","
	    "\"dev.pyro.agent.sha256\":\"abc\"}}";

	ck_assert_int_eq(parse(docker, NULL, &m, err), 0);
	ck_assert_int_eq(m.layers[0].layer, OCI_LAYER_TAR_GZIP);
	ck_assert_int_eq(parse(pyro, OCI_MT_MANIFEST "; charset=utf-8", &m,
	    err), 0);
	ck_assert_str_eq(m.artifact_type, OCI_ARTIFACT_PYRO);
	ck_assert_int_eq(m.layers[0].layer, OCI_LAYER_PART_ZSTD);
	ck_assert_str_eq(m.layers[0].title, "rootfs.ext4");
	ck_assert_str_eq(m.catalog_version, "3.2.0");
}
END_TEST

START_TEST(index_pick)
{
	struct oci_manifest	m;
	char			err[200];
	const char		*j = "{\"schemaVersion\":2,\"mediaType\":\""
	    OCI_MT_INDEX "\",\"manifests\":[{\"mediaType\":\"" OCI_MT_MANIFEST
	    "\",\"digest\":\"" D1 "\",\"size\":100,\"platform\":{\"os\":"
	    "\"linux\",\"architecture\":\"arm64\"}},{\"mediaType\":\""
	    OCI_MT_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":100,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";

	ck_assert_int_eq(parse(j, OCI_MT_INDEX, &m, err), 0);
	ck_assert_int_eq(m.kind, OCI_KIND_INDEX);
	ck_assert_int_eq(oci_index_pick(&m, "linux", "amd64"), 1);
	ck_assert_int_eq(oci_index_pick(&m, "linux", "s390x"), -1);
}
END_TEST

START_TEST(refusals)
{
	struct oci_manifest	m;
	char			err[200], big[64 + 130 * 200];
	size_t			k;
	int			i;
	static const struct {
		const char	*json, *why;
	} bad[] = {
		{ "[]", "not JSON" },
		{ "{\"schemaVersion\":1,\"layers\":[]}", "schemaVersion" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"application/x-evil\","
		  "\"layers\":[]}", "unknown manifest media type" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
		  "\"layers\":[]}", "no layers" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
		  "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
		  "\"digest\":\"" D1 "\",\"size\":2},\"layers\":[{\"mediaType\":"
		  "\"application/vnd.oci.image.layer.nondistributable.v1.tar\","
		  "\"digest\":\"" D2 "\",\"size\":1}]}", "foreign layer" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
		  "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
		  "\"digest\":\"" D1 "\",\"size\":2},\"layers\":[{\"mediaType\":"
		  "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\""
		  "sha256:ABC\",\"size\":1}]}", "bad digest" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
		  "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
		  "\"digest\":\"" D1 "\",\"size\":2},\"layers\":[{\"mediaType\":"
		  "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D2
		  "\",\"size\":1e300}]}", "absurd size" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
		  "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
		  "\"digest\":\"" D1 "\",\"size\":2},\"layers\":[{\"mediaType\":"
		  "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D2
		  "\",\"size\":-1}]}", "negative size" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
		  "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
		  "\"digest\":\"" D1 "\",\"size\":2},\"layers\":[{\"mediaType\":"
		  "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D2
		  "\",\"size\":1,\"urls\":[\"http://elsewhere/\"]}]}", "urls" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
		  "\"config\":{\"mediaType\":\"application/x-config\","
		  "\"digest\":\"" D1 "\",\"size\":2},\"layers\":[{\"mediaType\":"
		  "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D2
		  "\",\"size\":1}]}", "unknown config" },
	};

	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++)
		ck_assert_msg(parse(bad[i].json, NULL, &m, err) == -1,
		    "accepted: %s", bad[i].why);
	/* A mediaType the Content-Type contradicts. */
	ck_assert_int_eq(parse("{\"schemaVersion\":2,\"mediaType\":\""
	    OCI_MT_INDEX "\",\"manifests\":[]}", OCI_MT_MANIFEST, &m, err), -1);
	/* More than OCI_LAYERS_MAX layers. */
	k = (size_t)snprintf(big, sizeof(big), "{\"schemaVersion\":2,"
	    "\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":[");
	for (i = 0; i < OCI_LAYERS_MAX + 1; i++)
		k += (size_t)snprintf(big + k, sizeof(big) - k, "%s{\"mediaType\""
		    ":\"" OCI_MT_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1}",
		    i ? "," : "");
	snprintf(big + k, sizeof(big) - k, "]}");
	ck_assert_int_eq(parse(big, NULL, &m, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "128"));
	/* The error text is printable, whatever the registry sent. */
	ck_assert_int_eq(parse("{\"schemaVersion\":2,\"mediaType\":"
	    "\"a\\u001b[2Jb\",\"layers\":[]}", NULL, &m, err), -1);
	for (k = 0; err[k] != '\0'; k++)
		ck_assert(err[k] >= 0x20 && err[k] < 0x7f);
}
END_TEST

START_TEST(bearer)
{
	struct oci_challenge	c;

	ck_assert_int_eq(oci_parse_bearer("Bearer realm=\"http://127.0.0.1:"
	    "5001/token\",service=\"registry\",scope=\"repository:pyro/debian:"
	    "pull\"", &c), 0);
	ck_assert_str_eq(c.realm, "http://127.0.0.1:5001/token");
	ck_assert_str_eq(c.service, "registry");
	ck_assert_str_eq(c.scope, "repository:pyro/debian:pull");
	ck_assert_int_eq(oci_parse_bearer("Basic realm=\"x\"", &c), -1);
	ck_assert_int_eq(oci_parse_bearer("Bearer realm=\"file:///etc/"
	    "shadow\"", &c), -1);
	ck_assert_int_eq(oci_parse_bearer("Bearer realm=\"http://a\",x", &c),
	    -1);
	ck_assert_int_eq(oci_parse_bearer("Bearer realm=\"http://a\x01\"", &c),
	    -1);
	ck_assert_int_eq(oci_digest_ok(D1), 1);
	ck_assert_int_eq(oci_digest_ok("sha512:11"), 0);
}
END_TEST

START_TEST(layer_names)
{
	char	out[64];

	ck_assert_int_eq(oci_layer_name("./usr//bin/./sh", out, sizeof(out)),
	    0);
	ck_assert_str_eq(out, "usr/bin/sh");
	ck_assert_int_eq(oci_layer_name("etc/", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "etc");
	ck_assert_int_eq(oci_layer_name("./", out, sizeof(out)), 1);
	ck_assert_int_eq(oci_layer_name("/etc/passwd", out, sizeof(out)), -1);
	ck_assert_int_eq(oci_layer_name("a/../../b", out, sizeof(out)), -1);
	ck_assert_int_eq(oci_layer_name("..", out, sizeof(out)), -1);
	ck_assert_int_eq(oci_layer_name("a/..b/c", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a/..b/c");
	ck_assert_int_eq(oci_layer_name("a/.wh..wh..opq", out, sizeof(out)),
	    0);
	ck_assert_int_eq(oci_layer_name("x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", out, sizeof(out)), -1);
}
END_TEST

/* manifest.json of an environment against its OCI artifact. */
START_TEST(env_manifest)
{
	static const char art[] = "{\"schemaVersion\":2,\"mediaType\":\""
	    OCI_MT_MANIFEST "\",\"artifactType\":\"" OCI_ARTIFACT_PYRO "\","
	    "\"config\":{\"mediaType\":\"" OCI_MT_PYRO_CONFIG "\",\"digest\":"
	    "\"" D1 "\",\"size\":2},\"layers\":["
	    "{\"mediaType\":\"" OCI_MT_PYRO_PART "\",\"digest\":\"" D1 "\","
	    "\"size\":50,\"annotations\":{\"org.opencontainers.image.title\":"
	    "\"manifest.json\"}},"
	    "{\"mediaType\":\"" OCI_MT_PYRO_PART "+zstd\",\"digest\":\"" D1 "\","
	    "\"size\":10,\"annotations\":{\"org.opencontainers.image.title\":"
	    "\"vmlinux\"}},"
	    "{\"mediaType\":\"" OCI_MT_PYRO_PART "\",\"digest\":\"" D1 "\","
	    "\"size\":20,\"annotations\":{\"org.opencontainers.image.title\":"
	    "\"initramfs.cpio\"}},"
	    "{\"mediaType\":\"" OCI_MT_PYRO_PART "+zstd\",\"digest\":\"" D1 "\","
	    "\"size\":30,\"annotations\":{\"org.opencontainers.image.title\":"
	    "\"rootfs.ext4\"}}],\"annotations\":{\"dev.pyro.agent.sha256\":"
	    "\"ab\"}}";
	static struct oci_manifest	m;
	unsigned long long		need;
	char				err[200], j[800];
	const char			*h = "1111111111111111111111111111111111"
					    "111111111111111111111111111111";

	ck_assert_int_eq(oci_parse_manifest(art, sizeof(art) - 1, NULL, &m,
	    err, sizeof(err)), 0);
#define ENVJ(ver, agent, isz) snprintf(j, sizeof(j), "{\"name\":\"debian:12\"," \
	    "\"version\":\"%s\",\"agent_sha256\":\"%s\",\"vmms\":[\"qemu\"]," \
	    "\"parts\":{\"vmlinux\":{\"size\":100,\"sha256\":\"%s\"}," \
	    "\"initramfs.cpio\":{\"size\":%d,\"sha256\":\"%s\"}," \
	    "\"rootfs.ext4\":{\"size\":1000,\"sha256\":\"%s\"}}}", ver, \
	    agent, h, isz, h, h)
	ENVJ("3.1.0", "ab", 20);
	ck_assert_int_eq(oci_env_manifest_check(j, strlen(j), "debian:12", &m,
	    &need, err, sizeof(err)), 0);
	ck_assert_uint_eq(need, 10 + 100 + 20 + 20 + 30 + 1000);
	ck_assert_int_eq(oci_env_manifest_check(j, strlen(j), "debian:12-base",
	    &m, &need, err, sizeof(err)), -1);
	ENVJ("\\u001b[2J", "ab", 20);		/* an escape for a terminal */
	ck_assert_int_eq(oci_env_manifest_check(j, strlen(j), "debian:12", &m,
	    &need, err, sizeof(err)), -1);
	ENVJ("3.1.0", "cd", 20);		/* another agent */
	ck_assert_int_eq(oci_env_manifest_check(j, strlen(j), "debian:12", &m,
	    &need, err, sizeof(err)), -1);
	ENVJ("3.1.0", "ab", 21);		/* a raw part of another size */
	ck_assert_int_eq(oci_env_manifest_check(j, strlen(j), "debian:12", &m,
	    &need, err, sizeof(err)), -1);
#undef ENVJ
}
END_TEST

int
main(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("oci");
	tc = tcase_create("core");
	tcase_add_test(tc, image_manifest);
	tcase_add_test(tc, docker_and_pyro);
	tcase_add_test(tc, index_pick);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, bearer);
	tcase_add_test(tc, layer_names);
	tcase_add_test(tc, env_manifest);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
