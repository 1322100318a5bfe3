/* Text collections through the C API with a real model folder. Run: text DIR MODEL_DIR */
#include "check.h"

int main(int argc, char **argv) {
  EXPECT(argc == 3);
  quiver_options create = {0};
  create.create = 1;
  quiver_db *db = NULL;
  OK(quiver_open(path_in(argv[1], "text.qvr"), &create, &db));
  quiver_collection *notes = NULL;
  OK(quiver_create_text_collection(db, "notes", argv[2], &notes));
  const char *ids[] = {"cat", "stocks", "rain"};
  const char *texts[] = {"The cat sat on the mat and purred.",
                         "Share prices fell sharply on the stock exchange today.",
                         "Heavy rain is expected over the weekend."};
  const char *payloads[] = {"{\"topic\": \"pets\"}", "{\"topic\": \"finance\"}", NULL};
  OK(quiver_upsert_texts(notes, ids, texts, 3, payloads));
  quiver_search_params p = quiver_search_params_default();
  p.k = 3;
  quiver_results *r = NULL;
  OK(quiver_search_text(notes, "a kitten resting on a rug", &p, &r));
  EXPECT(quiver_results_count(r) == 3);
  EXPECT(strcmp(quiver_results_id(r, 0), "cat") == 0);
  EXPECT(strcmp(quiver_results_text(r, 0), texts[0]) == 0);
  printf("%s %.4f\n", quiver_results_id(r, 0), quiver_results_score(r, 0));
  quiver_results_free(r);
  p.filter = "{\"topic\": \"finance\"}";
  OK(quiver_search_text(notes, "a kitten resting on a rug", &p, &r));
  EXPECT(quiver_results_count(r) == 1);
  EXPECT(strcmp(quiver_results_id(r, 0), "stocks") == 0);
  quiver_results_free(r);
  /* A vector upsert of the wrong dimension, and an empty text, are refused. */
  const float v[3] = {1, 2, 3};
  EXPECT_STATUS(QUIVER_DIMENSION_MISMATCH, quiver_upsert(notes, ids, v, 1, 3, NULL));
  const char *empty[] = {"  "};
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT, quiver_upsert_texts(notes, ids, empty, 1, NULL));
  OK(quiver_collection_close(notes));
  OK(quiver_close(db));
  puts("text: ok");
  return 0;
}
