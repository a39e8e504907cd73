# Two set-up commands for a fresh machine (see README):
#   make demo   installs everything and runs the default workflow on the synthetic cohorts
#   make test   installs everything and runs the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2
SNAKEMAKE := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/snakemake

.PHONY: install demo test report bench bench-accuracy bench-tracking bench-tagstrain bench-tagseg bench-attmnet mutants clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: this resolves to the CPU wheel (an open range pulls a multi-GB CUDA build).
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,slurm]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(SNAKEMAKE) --cores $(CORES)
	$(SNAKEMAKE) --cores 1 --report results/report.html

report: install
	$(SNAKEMAKE) --cores 1 --report results/report.html

test: install
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/bench_phantom.py
	$(PY) benchmarks/bench_preprocess.py
	$(PY) benchmarks/bench_dag.py
	$(PY) benchmarks/bench_nets.py --repeats 3
	$(PY) benchmarks/bench_tagstrain_speed.py --threads $(CORES)
	$(PY) benchmarks/bench_tagseg_speed.py --threads $(CORES) --batch 2
	$(PY) benchmarks/bench_attmnet_speed.py --threads $(CORES) --width 0.5 --batch 1 --repeats 1

bench-accuracy: install
	$(PY) benchmarks/bench_myonet_accuracy.py --cores $(CORES)

bench-tracking: install
	$(PY) benchmarks/bench_tracking.py

bench-tagstrain: install
	$(PY) benchmarks/bench_tagstrain_accuracy.py --cores $(CORES)

bench-tagseg: install
	$(PY) benchmarks/bench_tagseg_accuracy.py --cores $(CORES)

bench-attmnet: install
	$(PY) benchmarks/bench_attmnet_accuracy.py --cores $(CORES)

# Mutation testing of the numerical core against its unit tests (not in CI; 38 minutes on 2 cores
# when run afresh; config: [tool.mutmut] in pyproject.toml). Resumes where a previous run stopped;
# survivors with their diffs: mutants/report.md, judged in docs/testing.md.
MUTMUT_VERSION := 3.8.1

mutants: install
	$(PY) -m pip install --quiet mutmut==$(MUTMUT_VERSION)
	$(PY) -m mutmut run --max-children $(CORES)
	$(PY) benchmarks/mutants_report.py --out mutants/report.md

clean:
	rm -rf results .snakemake
