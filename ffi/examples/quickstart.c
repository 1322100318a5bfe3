/* The README quickstart through the C API: create a database, upsert two records with
 * payloads, search. Build: see ffi/examples/Makefile (or `pkg-config --cflags --libs quiver`). */
#include <stdio.h>
#include <stdlib.h>
#include "quiver.h"

/* Prints the error of the last call and exits when `status` is not QUIVER_OK. */
static void check(int status, const char *what) {
  if (status != QUIVER_OK) {
    fprintf(stderr, "%s: %s (%s)\n", what, quiver_errstr(status), quiver_errmsg());
    exit(1);
  }
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "docs.qvr";
  quiver_options options = {0};
  options.create = 1;
  quiver_db *db = NULL;
  check(quiver_open(path, &options, &db), "open");

  quiver_collection *docs = NULL;
  int status = quiver_create_collection(db, "docs", 3, QUIVER_METRIC_COSINE, QUIVER_DTYPE_F32, &docs);
  if (status == QUIVER_EXISTS) status = quiver_open_collection(db, "docs", &docs);
  check(status, "create collection");

  const char *ids[] = {"a", "b"};
  const float vectors[] = {1, 0, 0, /* a */ 0, 1, 0 /* b */};
  const char *payloads[] = {"{\"title\": \"east\"}", "{\"title\": \"north\"}"};
  check(quiver_upsert(docs, ids, vectors, 2, 3, payloads), "upsert"); /* durable now */

  const float query[] = {0.9f, 0.1f, 0.0f};
  quiver_search_params params = quiver_search_params_default();
  params.k = 1;
  quiver_results *hits = NULL;
  check(quiver_search(docs, query, 3, &params, &hits), "search");
  for (size_t i = 0; i < quiver_results_count(hits); i++) {
    printf("%s %.4f %s\n", quiver_results_id(hits, i), quiver_results_score(hits, i),
           quiver_results_payload(hits, i));
  }
  quiver_results_free(hits);
  quiver_collection_close(docs);
  quiver_close(db);
  return 0;
}
