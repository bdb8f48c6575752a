# chessformer: every target installs what it needs (a .venv, Python packages, Stockfish).
#
#   make demo        # experts' games -> dataset -> model -> games vs experts/Stockfish -> report
#   make test        # the test suite (slow tests: make test-slow)
#
# Point the same targets at your own data and settings, e.g.
#   make data DATA=lichess_db_standard_rated_2024-01.pgn.zst CAP=1000 DATASET=data/datasets/cap1000
#   make train DATASET=data/datasets/cap1000 RUN=runs/cap1000 PRESET=50M STEPS=50000
#   make eval-vs-stockfish RUN=runs/cap1000 GRID=paper
#   make analyze-favor RUN=runs/cap1000 REPORT=reports/cap1000 FAVOR_STATES=1000
#   make report RUN=runs/cap1000 REPORT=reports/cap1000

PYTHON     ?= python3
VENV       ?= .venv
# A CPU build of torch by default; a GPU user sets e.g. TORCH_SPEC='torch==2.13.0' with
# PIP_EXTRA_INDEX_URL pointing at the CUDA wheels, or TORCH_SPEC='torch>=2.4'.
TORCH_SPEC ?= torch==2.13.0
# `make setup-cuda` replaces the venv's torch with a CUDA build from this index.
CUDA_INDEX ?= https://download.pytorch.org/whl/cu124

# The embedded default: games between the simulated experts of data/experts/$(EXPERTS).toml.
EXPERTS    ?= demo
# The learner is the same everywhere and on any data: the board presets' default, the tactics
# move head and the legal-move softmax (TRAIN_ARGS='--move-head flat --no-legal-softmax' trains
# the plain one). What differs is the machine's recipe. A machine with an
# NVIDIA GPU (nvidia-smi sees one): 100k games, 10,515 steps of 64 x 512 tokens on the GPU.
# Elsewhere, the 2-core CPU recipe: 16k games, 1,000 steps, torch's thread count re-measured as
# the run goes (1 thread is faster when another process holds a core). Both keep the checkpoint
# with the lowest validation loss. DEMO_GPU=0 forces the CPU recipe.
DEMO_GPU   ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1 || echo 0)
ifeq ($(DEMO_GPU),1)
GAMES      ?= 100000
STEPS      ?= 10515
MACHINE_TRAIN_ARGS := --batch-size 64 --eval-windows 256 --device cuda --keep-best
DEMO_SETUP := $(VENV)/.cuda
else
GAMES      ?= 16000
STEPS      ?= 1000
MACHINE_TRAIN_ARGS := --auto-threads --keep-best
DEMO_SETUP :=
endif
SEED       ?= 0
DATA       ?= data/generated/$(EXPERTS)-$(GAMES)-s$(SEED).pgn
CAP        ?= 1000
DATA_NAME  := $(firstword $(subst ., ,$(notdir $(DATA))))
DATASET    ?= data/datasets/$(DATA_NAME)-cap$(CAP)
PRESET     ?= small
# Training length: STEPS optimizer steps (a fixed count, so a busy machine only makes it slower),
# or MINUTES=M to size the run from a timing of its first steps.
MINUTES    ?=
TRAIN_LENGTH = $(if $(MINUTES),--minutes $(MINUTES),--max-steps $(STEPS))
RUN        ?= runs/$(DATA_NAME)-cap$(CAP)-$(PRESET)
GRID       ?= demo
REPORT     ?= reports/$(notdir $(RUN))
INGEST_ARGS ?=
# The machine's recipe on any data; the experts' generated games add the base-move probe (how
# often the model plays Stockfish depth 1's move, the simulated experts' base policy).
TRAIN_ARGS ?= $(MACHINE_TRAIN_ARGS) $(if $(filter data/generated/%,$(DATA)),--base-move-probe)
EVAL_ARGS  ?=

BIN  := $(VENV)/bin
CF   := CHESSFORMER_PROGRESS=1 $(BIN)/chessformer
STAMP := $(VENV)/.installed-$(shell echo '$(TORCH_SPEC)' | tr -c 'a-zA-Z0-9.' _)

.PHONY: setup setup-cuda check-gpu stockfish data train eval-vs-stockfish report analyze-favor demo test test-slow lint bench doctor clean-demo \
        calibrate experiment-diversity experiment-selection experiment-generalization experiment-kg \
        experiment-humans

setup: $(STAMP)

$(STAMP): pyproject.toml
	@echo "== setup: virtual environment in $(VENV) ($(TORCH_SPEC))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet '$(TORCH_SPEC)'
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# pip keeps an installed CPU torch that satisfies a looser TORCH_SPEC ("Requirement already
# satisfied"), so a CUDA build needs a forced reinstall from the CUDA wheel index.
setup-cuda: $(VENV)/.cuda

$(VENV)/.cuda: | setup
	$(BIN)/python -m pip install --quiet --force-reinstall torch --index-url $(CUDA_INDEX) \
	    --extra-index-url https://pypi.org/simple
	@$(MAKE) --no-print-directory check-gpu
	@touch $@

check-gpu: setup
	@$(BIN)/python -c "import sys, torch; ok = torch.cuda.is_available(); \
	print(f'torch {torch.__version__}: CUDA ' + (f'available ({torch.cuda.get_device_name(0)})' if ok \
	else 'not available (a CPU build, or no GPU driver): run make setup-cuda on a GPU machine')); \
	sys.exit(0 if ok else 1)"

stockfish:
	@bash stockfish/install.sh >/dev/null

doctor: setup stockfish
	$(CF) doctor

# -- data: generate the experts' games when DATA is the default, then ingest with the Elo cap -----
data/generated/$(EXPERTS)-$(GAMES)-s$(SEED).pgn: | setup stockfish
	@echo "== data: $(GAMES) games between the '$(EXPERTS)' experts"
	$(CF) generate --experts $(EXPERTS) --games $(GAMES) --seed $(SEED) --out $@

# Board planes only for the presets that read them (moves+board); the sequence-only presets
# (the paper's `moves` input) get a tokens-only dataset, about 1/57 of the size.
MOVES_ONLY_PRESETS := small-moves 50M 302M
BOARDS_FLAG = $(if $(filter $(PRESET),$(MOVES_ONLY_PRESETS)),,--boards)

$(DATASET)/manifest.json: $(DATA) | setup
	@echo "== data: ingest $(DATA) (both players rated <= $(CAP)) -> $(DATASET)"
	$(CF) ingest $(DATA) --elo-cap $(CAP) $(BOARDS_FLAG) --out $(DATASET) --overwrite $(INGEST_ARGS)

data: $(DATASET)/manifest.json

# -- train --------------------------------------------------------------------------------------
$(RUN)/final_metrics.json: $(DATASET)/manifest.json | setup $(DEMO_SETUP)
	@echo "== train: preset $(PRESET), $(TRAIN_LENGTH), on $(DATASET) -> $(RUN)"
	$(CF) train --data $(DATASET) --preset $(PRESET) $(TRAIN_LENGTH) --seed $(SEED) --out $(RUN) $(TRAIN_ARGS)

train: $(RUN)/final_metrics.json

# -- evaluate (resumes by itself: run it again after an interruption) -------------------------------
eval-vs-stockfish: $(RUN)/final_metrics.json | setup stockfish
	@echo "== eval: $(RUN) on grid $(GRID)"
	$(CF) eval-vs-stockfish --model $(RUN) --grid $(GRID) $(EVAL_ARGS)

report: | setup
	@echo "== report: $(RUN) -> $(REPORT)"
	$(CF) report $(RUN) --out $(REPORT)

# Where the low temperature gains over T = 1, state by state (the paper's Table 1): written into
# the report's folder, so the report that follows shows it. The demo scores FAVOR_STATES states
# (about a minute on 2 cores); the command's own default is 1,000.
FAVOR_STATES ?= 300
analyze-favor: | setup stockfish
	@echo "== analyze favor: $(RUN), $(FAVOR_STATES) states -> $(REPORT)"
	$(CF) analyze favor $(RUN) --out $(REPORT) --states $(FAVOR_STATES)

demo: eval-vs-stockfish
	@$(MAKE) --no-print-directory analyze-favor RUN=$(RUN) REPORT=$(REPORT)
	@$(MAKE) --no-print-directory report RUN=$(RUN) REPORT=$(REPORT)
	@echo
	@echo "demo done: open $(REPORT)/report.html (summary in $(REPORT)/report.md)"

# -- the Stockfish ladder and the taxonomy experiments ------------------------------------------
calibrate: | setup stockfish
	$(CF) calibrate

SIZE ?= full
experiment-diversity experiment-selection experiment-generalization: experiment-%: | setup stockfish
	$(CF) experiment $* --size $(SIZE) --out runs/experiments/$*-$(SIZE)

# The knowledge-graph testbed: five experiments, one report each (runs/kg/NAME/report.html),
# every (arm, seed) of all five trained in one pool, two at a time.
experiment-kg: | setup
	$(CF) kg run denoising selection walk composition regularization --size $(SIZE) --out runs/kg

# -- the real-human experiment -----------------------------------------------------------------
# Real over-the-board games (the shared TWIC file, both players <= 1800 FIDE: about 30,600 games;
# DATA=your.pgn[.zst] for your own), a seeded 5% of them held out by ingest (DATASET/holdout.pgn),
# the demo's learner trained on the rest (PRESET, TRAIN_LENGTH and the machine's recipe, as
# `make demo`), the games against ladder rungs (evals/humans.toml, which pre-registers the
# verdict temperature, the reference and the expected outcome), then both analyses and the
# report: the favor analysis on the model's games, analyze humans on the held-out games.
HUMANS_PGN       := $(if $(filter command line environment,$(origin DATA)),$(DATA),../shared/data/twic_otb_le2200.pgn.zst)
HUMANS_CAP       ?= 1800
HUMANS_HOLDOUT   ?= 0.05
HUMANS_NAME      := $(firstword $(subst ., ,$(notdir $(HUMANS_PGN))))-cap$(HUMANS_CAP)
HUMANS_DATASET   ?= data/datasets/humans-$(HUMANS_NAME)
HUMANS_RUN       ?= runs/humans-$(HUMANS_NAME)-$(PRESET)
HUMANS_REPORT    ?= reports/humans-$(HUMANS_NAME)-$(PRESET)
HUMANS_GRID      ?= humans
HUMANS_POSITIONS ?= 2000
HUMANS_ARGS      ?=

$(HUMANS_DATASET)/manifest.json: | setup
	@echo "== humans: ingest $(HUMANS_PGN) (both players rated <= $(HUMANS_CAP)), $(HUMANS_HOLDOUT) held out -> $(HUMANS_DATASET)"
	$(CF) ingest $(HUMANS_PGN) --elo-cap $(HUMANS_CAP) $(BOARDS_FLAG) --holdout $(HUMANS_HOLDOUT) \
	    --holdout-seed $(SEED) --out $(HUMANS_DATASET) --overwrite $(INGEST_ARGS)

$(HUMANS_RUN)/final_metrics.json: $(HUMANS_DATASET)/manifest.json | setup $(DEMO_SETUP)
	@echo "== humans: train preset $(PRESET), $(TRAIN_LENGTH), on $(HUMANS_DATASET) -> $(HUMANS_RUN)"
	$(CF) train --data $(HUMANS_DATASET) --preset $(PRESET) $(TRAIN_LENGTH) --seed $(SEED) \
	    --out $(HUMANS_RUN) $(MACHINE_TRAIN_ARGS)

experiment-humans: $(HUMANS_RUN)/final_metrics.json | setup stockfish
	@echo "== humans: eval $(HUMANS_RUN) on grid $(HUMANS_GRID)"
	$(CF) eval-vs-stockfish --model $(HUMANS_RUN) --grid $(HUMANS_GRID) $(EVAL_ARGS)
	$(CF) analyze favor $(HUMANS_RUN) --out $(HUMANS_REPORT) --states $(FAVOR_STATES)
	$(CF) analyze humans --model $(HUMANS_RUN) --games $(HUMANS_DATASET)/holdout.pgn \
	    --out $(HUMANS_REPORT) --positions $(HUMANS_POSITIONS) --seed $(SEED) $(HUMANS_ARGS)
	$(CF) report $(HUMANS_RUN) --out $(HUMANS_REPORT)
	@echo
	@echo "experiment-humans done: open $(HUMANS_REPORT)/report.html (summary in $(HUMANS_REPORT)/report.md)"

# -- tests and benchmarks ---------------------------------------------------------------------
test: setup stockfish
	$(BIN)/python -m pytest -q

# Lint and types: ruff over the tree, mypy --strict over the typed records (pyproject.toml).
lint: setup
	@$(BIN)/python -m pip install --quiet -e '.[lint]'
	$(BIN)/ruff check .
	$(BIN)/mypy

test-slow: setup stockfish
	$(BIN)/python -m pytest -q -m slow

bench: setup stockfish
	$(BIN)/python bench/run_all.py

# Only what `make demo` (with the same variables) made: other runs and datasets stay, and a
# PGN of your own (DATA outside data/generated/) is never removed.
clean-demo:
	rm -rf $(filter data/generated/%,$(DATA) $(DATA).json) $(DATASET) $(RUN) $(REPORT)
