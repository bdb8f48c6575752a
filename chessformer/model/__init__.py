"""The model: a generic GPT (:mod:`.gpt`: config, KV cache, attention, blocks, tied embedding;
torch only) and the chess GPT over move tokens built on it (:mod:`.transformer`: the mover's
frame, the optional board input, the move heads), the named presets (:mod:`.presets`), the
packed-board readers and the one attack computation (:mod:`.board`) under the board features
(:mod:`.features`), the move classes of the ``tactics`` head (:mod:`.move_features`) and the
legal-move masks (:mod:`.legal`), safetensors checkpoints saved and loaded (:mod:`.checkpoint`),
and the one way the rest of the package asks it for moves (:mod:`.inference`: batched KV-cache
decoding for games, sampling, argmax over positions)."""
