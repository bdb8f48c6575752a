"""The model: a GPT over move tokens with an optional board input (:mod:`.transformer`, board
features in :mod:`.features`), legal-move masks from packed boards (:mod:`.legal`), its
safetensors checkpoints (:mod:`.checkpoint`), and the one way the rest of the package asks it for
moves (:mod:`.inference`: batched KV-cache decoding for games, sampling, argmax over positions)."""
