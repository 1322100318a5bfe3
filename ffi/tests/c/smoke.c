/* Every function of the C API once, on the expected path. Run: smoke DIR */
#include "check.h"

static uint64_t count(quiver_collection *c, const char *filter) {
  uint64_t n = 0;
  OK(quiver_count(c, filter, &n));
  return n;
}

int main(int argc, char **argv) {
  EXPECT(argc == 2);
  const char *dir = argv[1];
  EXPECT(strlen(quiver_version()) > 0);
  for (int code = 0; code <= 12; code++) EXPECT(strlen(quiver_errstr(code)) > 0);

  quiver_options options = {0};
  options.create = 1;
  options.cache_bytes = 8u << 20;
  quiver_db *db = NULL;
  char db_path[4096];
  snprintf(db_path, sizeof db_path, "%s", path_in(dir, "smoke.qvr"));
  OK(quiver_open(db_path, &options, &db));
  EXPECT(db != NULL);
  EXPECT(strcmp(quiver_errmsg(), "") == 0);

  quiver_names *names = NULL;
  OK(quiver_list_collections(db, &names));
  EXPECT(quiver_names_count(names) == 0);
  quiver_names_free(names);

  quiver_collection *docs = NULL;
  OK(quiver_create_collection(db, "docs", 4, QUIVER_METRIC_L2, QUIVER_DTYPE_F32, &docs));
  EXPECT_STATUS(QUIVER_EXISTS, quiver_create_collection(db, "docs", 4, QUIVER_METRIC_L2, QUIVER_DTYPE_F32, NULL));
  OK(quiver_create_collection(db, "other", 8, QUIVER_METRIC_COSINE, QUIVER_DTYPE_F16, NULL));
  OK(quiver_list_collections(db, &names));
  EXPECT(quiver_names_count(names) == 2);
  EXPECT(strcmp(quiver_names_get(names, 0), "docs") == 0);
  EXPECT(strcmp(quiver_names_get(names, 1), "other") == 0);
  EXPECT(quiver_names_get(names, 2) == NULL);
  quiver_names_free(names);
  OK(quiver_drop_collection(db, "other"));
  EXPECT_STATUS(QUIVER_NOT_FOUND, quiver_drop_collection(db, "other"));

  /* 100 records r0..r99 at (i, i%7, 1, 0); payload {"n": i, "tag": "even"|"odd"}, none for
   * multiples of 10. */
  enum { N = 100, DIM = 4 };
  char id_buf[N][16], payload_buf[N][64];
  const char *ids[N], *payloads[N];
  float vectors[N * DIM];
  for (int i = 0; i < N; i++) {
    snprintf(id_buf[i], sizeof id_buf[i], "r%d", i);
    snprintf(payload_buf[i], sizeof payload_buf[i], "{\"n\": %d, \"tag\": \"%s\"}", i,
             i % 2 ? "odd" : "even");
    ids[i] = id_buf[i];
    payloads[i] = i % 10 ? payload_buf[i] : NULL;
    float v[DIM] = {(float)i, (float)(i % 7), 1.0f, 0.0f};
    memcpy(&vectors[i * DIM], v, sizeof v);
  }
  OK(quiver_upsert(docs, ids, vectors, N, DIM, payloads));
  EXPECT(count(docs, NULL) == N);
  EXPECT(count(docs, "{\"tag\": \"even\"}") == 40); /* 50 even, 10 without payload */

  quiver_results *r = NULL;
  OK(quiver_get(docs, "r7", &r));
  EXPECT(quiver_results_count(r) == 1);
  EXPECT(strcmp(quiver_results_id(r, 0), "r7") == 0);
  size_t dim = 0;
  const float *v7 = quiver_results_vector(r, 0, &dim);
  EXPECT(dim == DIM && v7[0] == 7.0f && v7[1] == 0.0f);
  EXPECT(strstr(quiver_results_payload(r, 0), "\"n\":7") != NULL);
  EXPECT(quiver_results_text(r, 0) == NULL);
  quiver_results_free(r);
  r = NULL;
  EXPECT_STATUS(QUIVER_NOT_FOUND, quiver_get(docs, "nope", &r));
  EXPECT(r == NULL); /* outputs are written only on success */

  quiver_search_params p = quiver_search_params_default();
  EXPECT(p.k == 10 && p.include_payloads == 1 && p.filter == NULL);
  p.k = 3;
  OK(quiver_search(docs, &vectors[10 * DIM], DIM, &p, &r));
  EXPECT(quiver_results_count(r) == 3);
  EXPECT(strcmp(quiver_results_id(r, 0), "r10") == 0);
  EXPECT(quiver_results_score(r, 0) == 0.0f);
  EXPECT(quiver_results_payload(r, 0) == NULL); /* r10 has none */
  EXPECT(quiver_results_vector(r, 0, NULL) == NULL); /* not requested */
  quiver_results_free(r);

  p.filter = "{\"n\": {\"$gte\": 90}, \"tag\": \"odd\"}";
  p.include_vectors = 1;
  OK(quiver_search(docs, &vectors[10 * DIM], DIM, &p, &r));
  EXPECT(quiver_results_count(r) == 3);
  for (size_t i = 0; i < quiver_results_count(r); i++) {
    EXPECT(strstr(quiver_results_payload(r, i), "odd") != NULL);
    EXPECT(quiver_results_vector(r, i, &dim)[0] >= 90.0f);
  }
  EXPECT(strcmp(quiver_results_id(r, 0), "r91") == 0);
  quiver_results_free(r);

  OK(quiver_create_payload_index(docs, "n", QUIVER_PAYLOAD_INTEGER));
  EXPECT(count(docs, "{\"n\": {\"$lt\": 20}}") == 18);
  OK(quiver_drop_payload_index(docs, "n"));
  EXPECT_STATUS(QUIVER_NOT_FOUND, quiver_drop_payload_index(docs, "n"));

  quiver_index_params ip = {0};
  ip.nlist = 4;
  OK(quiver_create_index(docs, &ip));
  quiver_search_params exhaustive = quiver_search_params_default();
  exhaustive.nprobe = 4;
  exhaustive.refine = 100;
  quiver_search_params exact = quiver_search_params_default();
  exact.exact = 1;
  quiver_results *a = NULL, *b = NULL;
  OK(quiver_search(docs, &vectors[33 * DIM], DIM, &exhaustive, &a));
  OK(quiver_search(docs, &vectors[33 * DIM], DIM, &exact, &b));
  EXPECT(quiver_results_count(a) == 10 && quiver_results_count(b) == 10);
  for (size_t i = 0; i < 10; i++) EXPECT(strcmp(quiver_results_id(a, i), quiver_results_id(b, i)) == 0);
  quiver_results_free(a);
  // The Matryoshka funnel through the index: every cell probed, every row a candidate on
  // the first 2 components, re-ranked on all 4 — the exact answer; a prefix beyond the
  // dimension is refused.
  quiver_search_params funnel = exhaustive;
  funnel.dims = 2;
  OK(quiver_search(docs, &vectors[33 * DIM], DIM, &funnel, &a));
  EXPECT(quiver_results_count(a) == 10);
  for (size_t i = 0; i < 10; i++) EXPECT(strcmp(quiver_results_id(a, i), quiver_results_id(b, i)) == 0);
  quiver_results_free(a);
  quiver_results_free(b);
  funnel.dims = DIM + 1;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(docs, &vectors[33 * DIM], DIM, &funnel, &a));
  OK(quiver_drop_index(docs));
  // 4-bit fast-scan codes: every cell probed with every row re-ranked is the exact answer.
  ip.bits = 4;
  OK(quiver_create_index(docs, &ip));
  OK(quiver_search(docs, &vectors[33 * DIM], DIM, &exhaustive, &a));
  OK(quiver_search(docs, &vectors[33 * DIM], DIM, &exact, &b));
  EXPECT(quiver_results_count(a) == 10 && quiver_results_count(b) == 10);
  for (size_t i = 0; i < 10; i++) EXPECT(strcmp(quiver_results_id(a, i), quiver_results_id(b, i)) == 0);
  quiver_results_free(a);
  quiver_results_free(b);
  ip.bits = 3;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_index(docs, &ip));
  OK(quiver_drop_index(docs));
  OK(quiver_create_index(docs, NULL));

  const char *del[] = {"r0", "r1", "unknown"};
  size_t deleted = 0;
  OK(quiver_delete(docs, del, 3, &deleted));
  EXPECT(deleted == 2);
  OK(quiver_delete_where(docs, "{\"tag\": \"odd\"}", &deleted));
  EXPECT(deleted == 49); /* the 50 odd ids all have payloads; r1 is gone already */
  EXPECT(count(docs, NULL) == N - 2 - 49);

  /* Text functions on a collection without a model. */
  const char *texts[] = {"hello"};
  EXPECT_STATUS(QUIVER_MODEL, quiver_upsert_texts(docs, ids, texts, 1, NULL));
  EXPECT_STATUS(QUIVER_MODEL, quiver_search_text(docs, "hello", NULL, &r));
  EXPECT_STATUS(QUIVER_MODEL, quiver_create_text_collection(db, "notes", path_in(dir, "no-model"), NULL));
  EXPECT_STATUS(QUIVER_MODEL, quiver_create_multi_text_collection(db, "notes", path_in(dir, "no-model"), 1, NULL, -1, NULL));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_multi_text_collection(db, "notes", path_in(dir, "no-model"), 2, NULL, -1, NULL));

  /* Multi-vector: records are token matrices, searched by MaxSim. */
  quiver_collection *mv = NULL;
  OK(quiver_create_multi_collection(db, "mv", 2, QUIVER_METRIC_DOT, QUIVER_DTYPE_F32, &mv));
  const char *mv_ids[] = {"m0", "m1", "m2"};
  const size_t mv_counts[] = {1, 2, 1};
  const float mv_tokens[] = {1, 0, /* m0 */ 0, 1, 2, 2, /* m1 */ 3, 0 /* m2 */};
  const char *mv_payloads[] = {"{\"g\": 1}", NULL, "{\"g\": 1}"};
  OK(quiver_upsert_multi(mv, mv_ids, mv_counts, mv_tokens, 3, 2, mv_payloads));
  const float mv_query[] = {1, 0, 0, 1}; /* two query tokens */
  OK(quiver_search_multi(mv, mv_query, 2, 2, NULL, 0, &r));
  EXPECT(quiver_results_count(r) == 3);
  EXPECT(strcmp(quiver_results_id(r, 0), "m1") == 0); /* max(0,2) + max(1,2) = 4 */
  EXPECT(quiver_results_score(r, 0) == 4.0f);
  quiver_results_free(r);
  quiver_search_params mvp = quiver_search_params_default();
  mvp.filter = "{\"g\": 1}";
  OK(quiver_search_multi(mv, mv_query, 2, 2, &mvp, 0, &r));
  EXPECT(quiver_results_count(r) == 2);
  EXPECT(strcmp(quiver_results_id(r, 0), "m2") == 0); /* 3 + 0 beats 1 + 0 */
  quiver_results_free(r);
  OK(quiver_create_multi_index(mv, 2, 0));
  mvp = quiver_search_params_default();
  mvp.nprobe = 2;
  OK(quiver_search_multi(mv, mv_query, 2, 2, &mvp, 100, &r));
  EXPECT(strcmp(quiver_results_id(r, 0), "m1") == 0);
  quiver_results_free(r);
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(mv, mv_query, 2, NULL, &r));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search_multi(docs, mv_query, 1, DIM, NULL, 0, &r));
  const size_t empty_count[] = {0};
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert_multi(mv, mv_ids, empty_count, mv_tokens, 1, 2, NULL));
  EXPECT_STATUS(QUIVER_DIMENSION_MISMATCH, quiver_upsert_multi(mv, mv_ids, mv_counts, mv_tokens, 1, 3, NULL));
  EXPECT(count(mv, NULL) == 3);
  OK(quiver_collection_close(mv));
  OK(quiver_drop_collection(db, "mv"));

  OK(quiver_collection_close(docs));
  OK(quiver_close(db));

  /* Reopen: the data is there; relaxed durability is accepted. */
  quiver_options reopen = {0};
  reopen.durability = 1;
  OK(quiver_open(db_path, &reopen, &db));
  OK(quiver_open_collection(db, "docs", &docs));
  EXPECT(count(docs, NULL) == N - 51);
  OK(quiver_drop_collection(db, "docs"));
  EXPECT_STATUS(QUIVER_NOT_FOUND, quiver_count(docs, NULL, &(uint64_t){0}));
  OK(quiver_collection_close(docs));
  OK(quiver_close(db));
  EXPECT_STATUS(QUIVER_NOT_FOUND, quiver_open(path_in(dir, "missing.qvr"), NULL, &db));
  puts("smoke: ok");
  return 0;
}
