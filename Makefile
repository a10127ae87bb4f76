# Two commands matter: `make run` and `make test` (see README). Everything else is a step.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/complaints.tar.gz
TRAINING := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) $(wildcard bot/rasa_ext/nlu/*.py)
# endpoints.yml needs these to expand; the launcher sets its own when it starts servers.
RASA_CLI_ENV := ACTION_ENDPOINT_URL=http://localhost:5055/webhook ACTION_SERVER_TOKEN=unused-offline RASA_TRACKER_DB=var/rasa_tracker.db
export PYTHONPATH := $(CURDIR)
# Rasa's telemetry would try the network on first use; these machines have none.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: run test setup system-deps model validate lint test-unit test-e2e test-stories eval eval-gate bench bench-training clean

# make run serves plain http on localhost: the console and chat cookies opt out of Secure
# here (and only here); behind a TLS-terminating proxy leave both unset (Secure).
run: setup model
	CONSOLE_COOKIE_SECURE=$${CONSOLE_COOKIE_SECURE:-0} CHAT_COOKIE_SECURE=$${CHAT_COOKIE_SECURE:-0} $(PY) -m bot.runtime.launcher

test: setup system-deps validate model lint test-unit test-stories eval-gate

setup: $(VENV)/.installed
$(VENV)/.installed: requirements.lock pyproject.toml scripts/setup.sh
	scripts/setup.sh

system-deps:
	scripts/install_system_deps.sh

# Retrained only when the training data or the config changed. `make validate` (part of
# `make test`) checks the data; training doesn't check it a second time (25 s of 85).
model: $(MODEL)
$(MODEL): $(TRAINING) | setup
	@mkdir -p var models
	$(RASA_CLI_ENV) $(RASA) train --skip-validation --fixed-model-name complaints --out models
	@touch $(MODEL)

validate: setup
	$(RASA_CLI_ENV) $(RASA) data validate

test-unit: setup model
	$(PY) -m pytest -q tests

# Conversations as conversations: Rasa's end-to-end stories (NLU + dialogue).
test-stories: setup model
	$(RASA_CLI_ENV) $(RASA) test core --e2e --stories tests/e2e --model $(MODEL) --fail-on-prediction-errors --out var/test-results

lint: setup
	$(VENV)/bin/ruff check .

# Held-out NLU and fact-extraction accuracy (never trained on), one blind set per folder.
HELDOUT_SETS := tests/data/heldout tests/data/heldout_dec tests/data/heldout_third tests/data/heldout_fourth tests/data/heldout_fifth tests/data/heldout_sixth tests/data/heldout_seventh tests/data/heldout_eighth tests/data/heldout_ninth tests/data/heldout_tenth
eval: setup model
	@for set in $(HELDOUT_SETS); do $(PY) scripts/evaluate_heldout.py --heldout $$set || exit 1; done
	@echo "Policy questions (tests/data/policy_questions, held out):"
	@$(PY) scripts/evaluate_policy_questions.py

# make test fails when held-out accuracy drops below its floor (floors.json in each held-out folder:
# the last measured figures minus a small margin).
eval-gate: setup model
	@for set in $(HELDOUT_SETS); do $(PY) scripts/evaluate_heldout.py --gate --heldout $$set || exit 1; done

bench: setup model
	$(PY) scripts/bench.py

# Training from scratch against a baseline revision in the same run (BASELINE=HEAD by default).
bench-training: setup
	$(PY) scripts/bench_training.py --baseline $${BASELINE:-HEAD}

clean:
	rm -rf models var .pytest_cache
