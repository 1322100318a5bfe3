/* Text collections through the C API with a real model folder.
   Run: text DIR MODEL_DIR PROJECTION (a ColBERT head for the model) */
#include "check.h"

int main(int argc, char **argv) {
  EXPECT(argc == 4);
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

  /* Multi-vector text collections: the model's token outputs, and ColBERT (argv[3] is a
     projection head; the MiniLM folder has none of its own). */
  quiver_collection *tokens = NULL;
  OK(quiver_create_multi_text_collection(db, "tokens", argv[2], 0, NULL, -1, &tokens));
  OK(quiver_upsert_texts(tokens, ids, texts, 3, payloads));
  p.filter = NULL;
  OK(quiver_search_text(tokens, "a kitten resting on a rug", &p, &r));
  EXPECT(quiver_results_count(r) == 3);
  EXPECT(strcmp(quiver_results_id(r, 0), "cat") == 0);
  quiver_results_free(r);
  OK(quiver_collection_close(tokens));
  quiver_collection *colbert = NULL;
  EXPECT_STATUS(QUIVER_MODEL,
                quiver_create_multi_text_collection(db, "cb", argv[2], 1, NULL, -1, &colbert));
  EXPECT_STATUS(QUIVER_INVALID_ARGUMENT,
                quiver_create_multi_text_collection(db, "cb", argv[2], 1, argv[3], 7, &colbert));
  OK(quiver_create_multi_text_collection(db, "cb", argv[2], 1, argv[3], 0, &colbert));
  OK(quiver_upsert_texts(colbert, ids, texts, 3, NULL));
  OK(quiver_search_text(colbert, "a kitten resting on a rug", &p, &r));
  EXPECT(quiver_results_count(r) == 3);
  quiver_results_free(r);
  OK(quiver_collection_close(colbert));
  OK(quiver_close(db));
  puts("text: ok");
  return 0;
}
