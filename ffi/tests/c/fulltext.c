/* The full-text functions: declaring the index, keyword and hybrid searches with their
 * explanations, analysis, and their errors. Run: fulltext DIR */
#include <math.h>
#include "check.h"

int main(int argc, char **argv) {
  EXPECT(argc == 2);
  quiver_options options = {0};
  options.create = 1;
  quiver_db *db = NULL;
  OK(quiver_open(path_in(argv[1], "fulltext.qvr"), &options, &db));
  quiver_collection *c = NULL;
  OK(quiver_create_collection(db, "papers", 2, QUIVER_METRIC_COSINE, QUIVER_DTYPE_F32, &c));
  const char *ids[] = {"a", "b", "c"};
  const float vectors[] = {1, 0, 0, 1, 0.7f, 0.7f};
  const char *payloads[] = {"{\"title\": \"Supersonic flow over wings\", \"year\": 1960}",
                            "{\"title\": \"Heat transfer in plates\", \"year\": 1962}",
                            "{\"title\": \"Wing flutter\", \"year\": 1970}"};
  OK(quiver_upsert(c, ids, vectors, 3, 2, payloads));

  quiver_results *r = NULL;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search_keywords(c, "wing", NULL, &r));
  const char *fields[] = {"title"};
  quiver_text_index_params tp = quiver_text_index_params_default();
  EXPECT(tp.stem_english == 1 && tp.k1 == 1.2 && tp.b == 0.75);
  OK(quiver_create_text_index(c, fields, 1, &tp));
  EXPECT_STATUS(QUIVER_EXISTS, quiver_create_text_index(c, fields, 1, NULL));
  tp.b = 2;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_create_text_index(c, fields, 1, &tp));

  quiver_search_params p = quiver_search_params_default();
  OK(quiver_search_keywords(c, "wings", &p, &r));
  EXPECT(quiver_results_count(r) == 2);
  EXPECT(quiver_results_score(r, 0) > 0);
  EXPECT(quiver_results_branch_rank(r, 0, 0) == 0); /* not a hybrid list */
  quiver_results_free(r);
  p.filter = "{\"year\": {\"$gt\": 1965}}";
  OK(quiver_search_keywords(c, "wing", &p, &r));
  EXPECT(quiver_results_count(r) == 1);
  EXPECT(strcmp(quiver_results_id(r, 0), "c") == 0);
  quiver_results_free(r);
  p.filter = NULL;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search_keywords(c, "the of", &p, &r));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search_keywords(c, NULL, &p, &r));

  const float q[] = {0, 1};
  quiver_hybrid_params h = quiver_hybrid_params_default();
  OK(quiver_search_hybrid(c, q, 2, NULL, "wing", &h, &p, &r));
  EXPECT(quiver_results_count(r) == 3);
  /* "c" is second for the vector and first for "wing". */
  EXPECT(strcmp(quiver_results_id(r, 0), "c") == 0);
  EXPECT(quiver_results_branch_rank(r, 0, 0) == 2);
  EXPECT(quiver_results_branch_rank(r, 0, 1) == 1);
  EXPECT(quiver_results_branch_score(r, 0, 1) > 0);
  EXPECT(fabs(quiver_results_score(r, 0) - (1.0 / 62 + 1.0 / 61)) < 1e-6);
  for (size_t i = 0; i < quiver_results_count(r); i++) {
    if (strcmp(quiver_results_id(r, i), "b") == 0) {
      EXPECT(quiver_results_branch_rank(r, i, 1) == 0);
      EXPECT(isnan(quiver_results_branch_score(r, i, 1)));
    }
  }
  EXPECT(quiver_results_branch_rank(r, 0, 2) == 0);
  EXPECT(quiver_results_branch_rank(r, 99, 0) == 0);
  quiver_results_free(r);
  h.fusion = QUIVER_FUSION_RELATIVE;
  h.dense_weight = 0.0;
  OK(quiver_search_hybrid(c, q, 2, NULL, "heat", &h, &p, &r));
  EXPECT(strcmp(quiver_results_id(r, 0), "b") == 0);
  quiver_results_free(r);
  h.fusion = 7;
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search_hybrid(c, q, 2, NULL, "wing", &h, &p, &r));
  /* No vector and no text; a collection without a model for a text. */
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_search_hybrid(c, NULL, 0, NULL, "wing", NULL, NULL, &r));
  EXPECT_STATUS(QUIVER_MODEL, quiver_search_hybrid(c, NULL, 0, "wing", "wing", NULL, NULL, &r));

  /* Hard-negative mining: a vector pair with the dense teacher, a text pair with BM25. */
  quiver_names *rows = NULL;
  OK(quiver_mine(c, "{\"query\": [1, 0.1], \"positive\": \"a\"}\n",
                 "{\"negatives\": 1, \"format\": \"flag\", \"ids\": true}", &rows));
  EXPECT(quiver_names_count(rows) == 1);
  EXPECT(strstr(quiver_names_get(rows, 0), "\"neg\":[\"c\"]") != NULL);
  quiver_names_free(rows);
  OK(quiver_mine(c, "{\"query\": \"wing\", \"positive\": \"a\"}",
                 "{\"teachers\": [\"bm25\"], \"negatives\": 3}", &rows));
  EXPECT(quiver_names_count(rows) == 1); /* "c" only: "b" holds no term */
  EXPECT(strstr(quiver_names_get(rows, 0), "\"negative\":\"c\"") != NULL);
  quiver_names_free(rows);
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT,
                quiver_mine(c, "{\"query\": [1, 0], \"positive\": \"zz\"}", NULL, &rows));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT,
                quiver_mine(c, "{\"query\": [1, 0], \"positive\": \"a\"}", "{\"nope\": 1}", &rows));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_mine(c, "not json", NULL, &rows));

  quiver_names *terms = NULL;
  OK(quiver_analyze(c, "The heated Plates", &terms));
  EXPECT(quiver_names_count(terms) == 2);
  EXPECT(strcmp(quiver_names_get(terms, 0), "heat") == 0);
  EXPECT(strcmp(quiver_names_get(terms, 1), "plate") == 0);
  quiver_names_free(terms);

  OK(quiver_drop_text_index(c));
  EXPECT_STATUS(QUIVER_NOT_FOUND, quiver_drop_text_index(c));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_analyze(c, "x", &terms));
  OK(quiver_create_text_index(c, NULL, 0, NULL)); /* over stored text: none here */
  quiver_collection_close(c);
  OK(quiver_close(db));
  printf("fulltext: ok\n");
  return 0;
}
