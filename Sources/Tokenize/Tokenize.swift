// # Tokenize
//
// Subword tokenizer for Korean <-> English translation, as a pipeline of stages:
//
// 1. `Normalizer` — ICU NFKC (default), NFC or none, plus space/control cleanup;
// 2. `WordSplitter` — ICU word break iterator; spaces become a word-start flag;
// 3. `SubwordModel` — learned BPE merges (or characters only) with UTF-8 byte
//    fallback, learned by `VocabularyPair.learn` and stored as plain text files;
// 4. `Detokenizer` — the exact inverse: `decode(encode(x)) == normalize(x)`.
//
// `Tokenizer` runs stages 1–3 for one side of a `VocabularyPair`.
// `TSVCorpus` reads `source<TAB>target` files with a bad-line policy;
// `LineReader`/`LineWriter` stream stdin/stdout line by line.
//
// Shapes and sizes: V = vocabulary size (token ids are `Int32` in `0..<V`).
// Ids 0–3 are `<pad>`, `<unk>`, `<s>`, `</s>`; `encode` never adds `<s>`/`</s>`.
