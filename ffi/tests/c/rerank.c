/* Cross-encoder re-ranking from C: loading a model, scoring texts, a re-rank stage on a
 * vector search, a pinned default re-ranker, and their errors. Run: rerank DIR MODEL_DIR */
#include <math.h>
#include "check.h"

int main(int argc, char **argv) {
  EXPECT(argc == 3);
  quiver_reranker *model = NULL;
  EXPECT_STATUS(QUIVER_MODEL, quiver_reranker_load(argv[1], &model)); /* not a model */
  EXPECT(model == NULL);
  OK(quiver_reranker_load(argv[2], &model));

  const char *texts[] = {"wing flutter at supersonic speed", "heat transfer in plates",
                         "boundary layer"};
  float scores[3] = {-1, -1, -1};
  OK(quiver_reranker_score(model, "flutter of wings", texts, 3, scores));
  for (int i = 0; i < 3; i++) EXPECT(scores[i] > 0 && scores[i] < 1); /* sigmoid */

  quiver_options options = {0};
  options.create = 1;
  quiver_db *db = NULL;
  OK(quiver_open(path_in(argv[1], "rerank.qvr"), &options, &db));
  quiver_collection *c = NULL;
  OK(quiver_create_collection(db, "docs", 2, QUIVER_METRIC_COSINE, QUIVER_DTYPE_F32, &c));
  const char *ids[] = {"a", "b", "c"};
  const float vectors[] = {1, 0, 0.9f, 0.1f, 0.8f, 0.2f};
  const char *payloads[] = {"{\"body\": \"wing flutter at supersonic speed\"}",
                            "{\"body\": \"heat transfer in plates\"}",
                            "{\"body\": \"boundary layer\"}"};
  OK(quiver_upsert(c, ids, vectors, 3, 2, payloads));

  quiver_rerank_params rp = {0};
  rp.model = model;
  rp.query = "flutter of wings";
  rp.text_field = "body";
  quiver_search_params p = quiver_search_params_default();
  p.k = 3;
  p.rerank = &rp;
  const float q[] = {1, 0};
  quiver_results *r = NULL;
  OK(quiver_search(c, q, 2, &p, &r));
  EXPECT(quiver_results_count(r) == 3);
  float best = scores[0] > scores[1] ? (scores[0] > scores[2] ? scores[0] : scores[2])
                                     : (scores[1] > scores[2] ? scores[1] : scores[2]);
  EXPECT(fabsf(quiver_results_score(r, 0) - best) < 1e-5f);
  EXPECT(quiver_results_score(r, 0) >= quiver_results_score(r, 1));
  quiver_results_free(r);

  /* No text for a vector query; no pinned model yet. */
  rp.query = NULL;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(c, q, 2, &p, &r));
  rp.query = "flutter of wings";
  rp.model = NULL;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(c, q, 2, &p, &r));
  /* Pinned, the collection's default serves the stage. */
  OK(quiver_collection_pin_reranker(c, model));
  OK(quiver_search(c, q, 2, &p, &r));
  EXPECT(fabsf(quiver_results_score(r, 0) - best) < 1e-5f);
  quiver_results_free(r);
  OK(quiver_collection_pin_reranker(c, NULL));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search(c, q, 2, &p, &r));

  EXPECT_STATUS(QUIVER_MISUSE, quiver_reranker_score(NULL, "q", texts, 3, scores));
  quiver_reranker_free(model);
  quiver_reranker_free(model); /* harmless */
  quiver_collection_close(c);
  quiver_close(db);
  printf("rerank: ok\n");
  return 0;
}
