/* Misuse and bad input: every case returns its documented status, changes nothing, and never
 * crashes. Run: negative DIR */
#include "check.h"

int main(int argc, char **argv) {
  EXPECT(argc == 2);
  const char *dir = argv[1];
  char db_path[4096];
  snprintf(db_path, sizeof db_path, "%s", path_in(dir, "negative.qvr"));
  quiver_options create = {0};
  create.create = 1;
  quiver_db *db = NULL;
  quiver_collection *c = NULL;
  quiver_results *r = NULL;
  uint64_t n = 0;
  size_t deleted = 0;
  const float v4[4] = {1, 2, 3, 4};

  /* NULL handles. */
  EXPECT_STATUS(QUIVER_OK, quiver_close(NULL));
  EXPECT_STATUS(QUIVER_OK, quiver_collection_close(NULL));
  quiver_results_free(NULL);
  quiver_names_free(NULL);
  EXPECT_STATUS(QUIVER_MISUSE, quiver_count(NULL, NULL, &n));
  EXPECT_STATUS(QUIVER_MISUSE, quiver_search(NULL, v4, 4, NULL, &r));
  EXPECT_STATUS(QUIVER_MISUSE, quiver_open_collection(NULL, "x", &c));
  EXPECT_STATUS(QUIVER_MISUSE, quiver_list_collections(NULL, NULL));
  EXPECT(quiver_results_count(NULL) == 0);
  EXPECT(quiver_results_id(NULL, 0) == NULL);
  EXPECT(quiver_results_score(NULL, 0) != quiver_results_score(NULL, 0)); /* NaN */
  EXPECT(quiver_names_count(NULL) == 0);
  EXPECT(quiver_errstr(-1) != NULL && quiver_errstr(999) != NULL);

  /* NULL pointers and bad options. */
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_open(NULL, &create, &db));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_open(db_path, &create, NULL));
  quiver_options bad = create;
  bad.durability = 7;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_open(db_path, &bad, &db));
  EXPECT(db == NULL);
  OK(quiver_open(db_path, &create, &db));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_collection(db, NULL, 4, 0, 0, &c));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_collection(db, "c", 4, 9, 0, &c));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_collection(db, "c", 4, 0, 9, &c));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_collection(db, "c", 0, 0, 0, &c));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_collection(db, "bad name!", 4, 0, 0, &c));
  EXPECT(c == NULL);
  OK(quiver_create_collection(db, "c", 4, QUIVER_METRIC_COSINE, QUIVER_DTYPE_F32, &c));

  const char *ids[] = {"a", "b"};
  const float v8[8] = {1, 0, 0, 0, 0, 1, 0, 0};
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert(c, NULL, v8, 2, 4, NULL));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert(c, ids, NULL, 2, 4, NULL));
  const char *null_id[] = {"a", NULL};
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert(c, null_id, v8, 2, 4, NULL));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(c, v4, 4, NULL, NULL));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(c, NULL, 4, NULL, &r));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_get(c, NULL, &r));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_count(c, NULL, NULL));

  /* Invalid UTF-8 ids, bad payloads, zero vectors under cosine: nothing written. */
  const char *bad_utf8[] = {"a", "\xff\xfe"};
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert(c, bad_utf8, v8, 2, 4, NULL));
  EXPECT(strstr(quiver_errmsg(), "UTF-8") != NULL);
  const char *bad_json[] = {"{\"ok\": 1}", "{not json"};
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert(c, ids, v8, 2, 4, bad_json));
  const char *not_object[] = {"{\"ok\": 1}", "[1, 2]"};
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert(c, ids, v8, 2, 4, not_object));
  const float zero[8] = {0};
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert(c, ids, zero, 2, 4, NULL));
  OK(quiver_count(c, NULL, &n));
  EXPECT(n == 0);

  /* Wrong dimensions and counts. */
  EXPECT_STATUS(QUIVER_DIMENSION_MISMATCH, quiver_upsert(c, ids, v8, 2, 3, NULL));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert(c, ids, v8, 2, 0, NULL));
  OK(quiver_upsert(c, ids, v8, 0, 4, NULL)); /* nothing to do */
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert(c, ids, v8, (size_t)-1, 4, NULL));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_delete(c, ids, (size_t)-1, &deleted));
  OK(quiver_upsert(c, ids, v8, 2, 4, NULL));
  const float v5[5] = {1, 2, 3, 4, 5};
  EXPECT_STATUS(QUIVER_DIMENSION_MISMATCH, quiver_search(c, v5, 5, NULL, &r));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(c, v4, 0, NULL, &r));
  quiver_search_params p = quiver_search_params_default();
  p.k = 0;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(c, v4, 4, &p, &r));
  EXPECT(r == NULL);

  /* Bad filters name the offending part. */
  p = quiver_search_params_default();
  p.filter = "{\"$and\": [{\"a\": 1}, {\"b\": {\"$bogus\": 2}}]}";
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(c, v4, 4, &p, &r));
  EXPECT(strstr(quiver_errmsg(), "$and[1].b.$bogus") != NULL);
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_count(c, "{oops", &n));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_delete_where(c, NULL, &deleted));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_payload_index(c, "f", 9));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_index(c, &(quiver_index_params){.nlist = 5}));
  OK(quiver_count(c, NULL, &n));
  EXPECT(n == 2);

  /* Double close / free and handles of the wrong type are caught. */
  OK(quiver_search(c, v4, 4, NULL, &r));
  EXPECT_STATUS(QUIVER_MISUSE, quiver_count((quiver_collection *)r, NULL, &n));
  EXPECT_STATUS(QUIVER_MISUSE, quiver_collection_close((quiver_collection *)db));
  quiver_results_free(r);
  quiver_results_free(r); /* harmless */
  EXPECT(quiver_results_count(r) == 0);
  OK(quiver_collection_close(c));
  EXPECT_STATUS(QUIVER_MISUSE, quiver_collection_close(c));
  EXPECT_STATUS(QUIVER_MISUSE, quiver_count(c, NULL, &n));

  /* Other handles share the file: a read-only one sees the records and refuses writes; an
     exclusive one is refused while others are open (at once, with a negative busy timeout). */
  quiver_db *second = NULL;
  quiver_collection *rc = NULL;
  quiver_options ro = {.access = QUIVER_ACCESS_READ_ONLY};
  OK(quiver_open(db_path, &ro, &second));
  OK(quiver_open_collection(second, "c", &rc));
  OK(quiver_count(rc, NULL, &n));
  EXPECT(n == 2);
  EXPECT_STATUS(QUIVER_READ_ONLY, quiver_upsert(rc, ids, v8, 2, 4, NULL));
  OK(quiver_collection_close(rc));
  OK(quiver_close(second));
  second = NULL;
  ro.create = 1;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_open(db_path, &ro, &second));
  quiver_options excl = {.access = QUIVER_ACCESS_EXCLUSIVE, .busy_timeout_ms = -1};
  EXPECT_STATUS(QUIVER_LOCKED, quiver_open(db_path, &excl, &second));
  EXPECT(second == NULL);
  excl.access = 3;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_open(db_path, &excl, &second));
  OK(quiver_close(db));
  EXPECT_STATUS(QUIVER_MISUSE, quiver_close(db));

  /* Files that are not databases. */
  FILE *f = fopen(path_in(dir, "garbage.qvr"), "wb");
  EXPECT(f != NULL);
  for (int i = 0; i < 4096; i++) fputc(i * 7 % 251, f);
  fclose(f);
  EXPECT_STATUS(QUIVER_NOT_A_DATABASE, quiver_open(path_in(dir, "garbage.qvr"), NULL, &db));
  EXPECT_STATUS(QUIVER_NOT_FOUND, quiver_open(path_in(dir, "absent.qvr"), NULL, &db));
  puts("negative: ok");
  return 0;
}
