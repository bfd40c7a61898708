"""Issue 17: malformed command lines (generator settings, algorithm options,
seeds, output paths, usage errors) end with exit 2 and one line on stderr
naming the setting or option; no traceback, no output file, seconds each.
Options are validated once, from the algorithms' signatures, for the Python
API and the command line alike."""
from __future__ import annotations

import os
import stat

import pytest

import semalloc
from hostile import FAST, PROBLEMS, SMALL, cli
from semalloc.errors import InputError
from semalloc.solve import MAX_INSTANCE_BYTES, _option_types, check_options, instance_bytes
from test_hostile_files import one_line_error

#: Count settings of each problem (a huge value must be refused up front).
COUNTS = {key: list(semalloc.get_problem(key).sizes.values()) for key in PROBLEMS}


def setting_cases(key: str) -> list[tuple[list[str], str]]:
    """``generate`` command lines with one bad setting each, and the name the message must hold."""
    count = COUNTS[key][0]
    cases = [
        ([f"{count}=1000000000"], "GiB"), ([f"{count}=1e23"], count), ([f"{count}=0"], count),
        ([f"{count}=-3"], count), ([f"{count}=2.5"], count), ([f"{count}=abc"], count), ([f"{count}=true"], count),
        ([f"{count}=[]"], count), ([f"{count}={'9' * 400}"], count), (["no_such_setting=1"], "no_such_setting"),
        (["area_m=-5" if key in ("multicell", "offloading") else "radius_m=-5"], "_m"),
        (["area_m=.inf" if key in ("multicell", "offloading") else "radius_m=.inf"], "_m"),
        (["area_m=.nan" if key in ("multicell", "offloading") else "radius_m=.nan"], "_m"),
        (["shadowing_db=foo"] if key != "compression" else ["deadline_s=foo"],
         "shadowing_db" if key != "compression" else "deadline_s"),
        (["deadline_s=[1, 2, 3]"] if key != "training" else ["cycles_device=[1, 2, 3]"],
         "deadline_s" if key != "training" else "cycles_device"),
    ]
    extra = {"multicell": [(["rbs=foo"], "rbs"), (["rbs=[]"], "rbs"), (["rbs=[0]"], "rbs"), (["rbs=[2.5]"], "rbs"),
                           (["rbs=[true]"], "rbs"), (["utility=3"], "utility"), (["utility=nosuch"], "utility"),
                           (["energy_j=-1"], "energy_j"), (["cpu_max_hz=[3e9, 1e9]"], "cpu_max_hz"),
                           (["power_max_w=.inf"], "power_max_w"), (["base_stations=100000000"], "GiB"),
                           (["eta2=[1.2, 1.5]"], "eta2")],
             "offloading": [(["kernels=[0, 0]"], "kernels"), (["kernels=[]"], "kernels"), (["side=foo"], "side")],
             "compression": [(["level_weights=[]"], "level_weights"), (["level_weights=foo"], "level_weights"),
                             (["profile=nosuch"], "profile")],
             "training": [(["power_max_dbm=3000"], "power_max"), (["w_time=-1"], "w_time"),
                          (["psnr_profile=nosuch"], "psnr_profile")],
             "sbq": [(["sentences=[]"], "sentences"), (["symbols_per_word=[0]"], "symbols_per_word"),
                     (["rho=.nan"], "rho")]}
    return cases + extra[key]


def option_cases(key: str) -> list[tuple[str, list[str], str]]:
    """``solve`` command lines with one bad algorithm option each, from the signatures."""
    cases = [(FAST[key], ["no_such_option=1"], "no_such_option"), ("nosuch", [], "algorithm")]
    for name, alg in semalloc.get_problem(key).algorithms.items():
        for opt, (hint, default) in _option_types(alg).items():
            if isinstance(default, bool) or default is None or isinstance(default, str):
                continue
            for bad in ("abc", "-5", ".nan", ".inf", "[1]", "true"):
                cases.append((name, [f"{opt}={bad}"], opt))
    if key in ("multicell", "training"):
        cases.append(("best" if key == "multicell" else "alternating", ["start=nosuch"], "start"))
    return cases


@pytest.mark.parametrize("key", PROBLEMS)
def test_corpus_size(key):
    assert len(setting_cases(key)) + len(option_cases(key)) >= 40


@pytest.mark.parametrize("key", PROBLEMS)
def test_bad_generator_settings_exit_2(key, tmp_path):
    out = tmp_path / "inst.json"
    for sets, field in setting_cases(key):
        args = ["generate", key, "-o", out] + [a for s in sets for a in ("--set", s)]
        msg = one_line_error(cli(*args))
        assert field in msg, (sets, msg)
        assert not out.exists()


@pytest.mark.parametrize("key", PROBLEMS)
def test_bad_algorithm_options_exit_2(key, tmp_path):
    inst = tmp_path / "inst.json"
    semalloc.save(semalloc.generate(key, seed=2, **SMALL[key]), inst)
    out = tmp_path / "sol.json"
    for alg, sets, field in option_cases(key):
        r = cli("solve", inst, "-a", alg, "-o", out, *[a for s in sets for a in ("--set", s)])
        msg = one_line_error(r)
        assert field in msg, (alg, sets, msg)
        assert not out.exists()


@pytest.mark.parametrize("args,field", [
    (["generate", "multicell", "--seed", "-1", "-o", "{out}"], "--seed"),
    (["generate", "multicell", "--seed", "abc", "-o", "{out}"], "--seed"),
    (["generate", "multicell", "--seed", "1e400", "-o", "{out}"], "--seed"),
    (["generate", "multicell", "-o", "{dir}"], "-o"),
    (["generate", "multicell", "-o", "{under_file}"], "-o"),
    (["generate", "multicell", "-o", "/proc/semalloc-test.json"], "-o"),
    (["generate", "multicell"], "--out"),
    (["generate"], "key"),
    (["solve"], "instance"),
    (["solve", "{inst}", "-o", "{dir}"], "-o"),
    (["solve", "{inst}", "-o", "{under_file}"], "-o"),
    (["solve", "{inst}", "--set", "noequals"], "--set"),
    (["solve", "{inst}", "--set", "time_limit=[unclosed"], "--set"),
    (["solve", "{inst}", "--bogus"], "--bogus"),
    (["evaluate", "{inst}"], "solution"),
    (["evaluate", "{dir}", "{inst}"], "directory"),
    (["sweep", "{dir}"], "not a text file"),
    (["sweep", "{spec}", "-o", "{dir}"], "-o"),
    (["frobnicate"], "frobnicate"),
    (["solve", "{inst}", "--workers", "2"], "--workers"),
    (["sweep", "{spec}", "-o", "{tmp}/r.db", "--workers", "abc"], "--workers"),
    (["sweep", "{spec}", "-o", "{tmp}/r.db", "--workers", "0"], "--workers"),
    # found by the fifteenth session's audit (each was an internal error, several lines, or a file written)
    (["generate", "compression", "--set", "radius_m=[1, 2, 3]", "-o", "{out}"], "radius_m"),
    (["generate", "compression", "--set", "radius_m=1e300", "-o", "{out}"], "radius_m"),
    (["generate", "sbq", "--set", "min_distance_m=1e300", "-o", "{out}"], "min_distance_m"),
    (["generate", "multicell", "--set", "shadowing_db=1e300", "-o", "{out}"], "shadowing_db"),
    (["generate", "offloading", "--set", "carrier_hz=0", "-o", "{out}"], "carrier_hz"),
    (["generate", "compression", "--set", "noise_dbm_hz=1e300", "-o", "{out}"], "noise_dbm_hz"),
    (["sweep", "{spec}", "-o", "{tmp}/r.db", "--scheduler", "notaurl"], "--scheduler"),
    (["specs", "copy", "multicell-fig2", "{under_file}"], "DEST"),
    (["solve", "{inst}", "-a", "", "-o", "{out}"], "algorithm"),
])
def test_usage_and_output_errors_exit_2(args, field, tmp_path):
    inst, spec = tmp_path / "inst.json", tmp_path / "spec.yaml"
    semalloc.save(semalloc.generate("multicell", seed=0, **SMALL["multicell"]), inst)
    spec.write_text("problem: multicell\nalgorithms: [prop]\nsettings: {devices: 3, base_stations: 2, rbs: [4]}\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("a file\n")
    fill = {"out": tmp_path / "o.json", "dir": tmp_path / "d", "under_file": tmp_path / "f" / "x.json",
            "inst": inst, "spec": spec, "tmp": tmp_path}
    before = sorted(os.listdir(tmp_path))
    msg = one_line_error(cli(*(str(a).format(**fill) for a in args)))
    assert field in msg, msg
    assert sorted(os.listdir(tmp_path)) == before and not os.listdir(tmp_path / "d")


@pytest.mark.parametrize("text,field", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"problem": "multicell", "algorithms": ["prop"], "settings": {"devices": ' + "9" * 400 + "}}", "devices"),
    ("problem: multicell\nalgorithms: [best]\noptions: {best: {time_limit: -5}}\n", "time_limit"),
    ("problem: multicell\nalgorithms: [best]\noptions: {best: {start: nosuch}}\n", "start"),
    ("problem: multicell\nproblem: offloading\nalgorithms: [prop]\n", "problem"),
    ('{"problem": "multicell", "algorithms": ["prop"], "algorithms": ["nua"]}', "algorithms"),
    ("problem: multicell\nalgorithms: [prop]\nvary: {devices: [3, true]}\n", "devices"),
    ("problem: multicell\nalgorithms: [prop]\nsettings: {area_m: .nan}\n", "area_m"),
    ("problem: multicell\nalgorithms: [prop]\nsettings: {devices: 1000000000}\n", "GiB"),
    ("problem: sbq\nalgorithms: [equal]\nslots: 1000000000000\n", "spec.slots"),
    ("problem: sbq\nalgorithms: [equal]\nseeds: 1000000000000\n", "spec.seeds"),
    ("problem: multicell\nalgorithms: [prop]\nquick: {seeds: abc}\n", "spec.seeds"),
])
def test_malformed_sweep_specs_exit_2_and_create_no_store(text, field, tmp_path):
    spec, db = tmp_path / "spec.yaml", tmp_path / "r.db"
    spec.write_text(text)
    msg = one_line_error(cli("sweep", spec, "-o", db, "--no-progress"))
    assert field in msg, msg
    assert not db.exists() and not (tmp_path / "r.db.lock").exists()


def test_memory_estimate_is_the_arrays_of_the_instance():
    """The estimate is the instance's own arrays: an instance drawn at a small
    size measures what the estimate says (8 bytes per number)."""
    for key in PROBLEMS:
        inst = semalloc.generate(key, seed=0, **SMALL[key])
        measured = sum(8 * v.size for g in inst.data.values()
                       for v in (g.values() if isinstance(g, dict) else [g]) if hasattr(v, "size"))
        assert abs(instance_bytes(key, SMALL[key]) - measured) <= 8 * 64, key   # scalars are not arrays
    huge = {COUNTS["multicell"][0]: 10_000_000}
    assert instance_bytes("multicell", huge) > MAX_INSTANCE_BYTES
    with pytest.raises(InputError, match="GiB"):
        semalloc.generate("multicell", **huge)


@pytest.mark.parametrize("key", PROBLEMS)
def test_python_api_validates_options_like_the_command_line(key):
    inst = semalloc.generate(key, seed=2, **SMALL[key])
    for alg, sets, field in option_cases(key)[:6]:
        if alg not in semalloc.get_problem(key).algorithms:
            continue
        name, _, text = sets[0].partition("=")
        value = {"abc": "abc", "-5": -5, ".nan": float("nan"), ".inf": float("inf"), "[1]": [1], "true": True}.get(
            text, text)
        with pytest.raises(InputError, match=field):
            semalloc.solve(inst, alg, **{name: value})


def test_valid_options_are_converted_and_accepted():
    assert check_options("offloading", "best", {"starts": 2.0, "time_limit": 1}) == {"starts": 2, "time_limit": 1.0}
    assert check_options("multicell", "best", {"start": "lp"}) == {"start": "lp"}
    with pytest.raises(InputError, match="must be > 0"):
        check_options("multicell", "exact", {"time_limit": 0})
    with pytest.raises(InputError, match="one of auto, lp, lagrange"):
        check_options("multicell", "best", {"start": "nosuch"})


# ----------------------------------------------------------------------------- outputs that are inputs or not files

def test_an_output_that_is_an_input_or_not_a_regular_file_is_refused_and_left_as_it_was(tmp_path):
    """The hostile-input audit of 2026-12-07: ``solve i.json -o i.json`` replaced the instance, ``export s.db -o
    s.db`` the store, ``plot s.png`` (a store so named) drew over it, and ``-o`` a pipe or device replaced it
    with a regular file (as root, /dev/null itself)."""
    inst, store, spec = tmp_path / "i.json", tmp_path / "s.db", tmp_path / "s.yaml"
    assert cli("generate", "multicell", "--seed", "1", "--set", "devices=4", "--set", "base_stations=2",
               "-o", inst).code == 0
    spec.write_text("problem: multicell\nsettings: {base_stations: 2, rbs: [6], devices: 4}\nseeds: 1\n"
                    "algorithms: [prop]\n")
    assert cli("sweep", spec, "-o", store, "--no-progress").code == 0
    named_png = tmp_path / "t.png"
    named_png.write_bytes(store.read_bytes())
    fifo = tmp_path / "f.json"
    os.mkfifo(fifo)
    for args, what in [(("solve", inst, "-o", inst), "is the input"), (("export", store, "-o", store), "is the input"),
                       (("plot", named_png), "is the input"), (("solve", inst, "-o", fifo), "not a regular file"),
                       (("generate", "sbq", "-o", fifo), "not a regular file")]:
        before = {p: p.read_bytes() for p in (inst, store, named_png)}
        r = cli(*args)
        assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and what in r.err, (args, r.err)
        assert all(p.read_bytes() == b for p, b in before.items()) and stat.S_ISFIFO(os.stat(fifo).st_mode), args


@pytest.mark.parametrize("args, message", [
    (["learn", "asc", "--quick", "-o", "{tmp}"], "-o: '{tmp}' is a directory; name a file"),
    (["learn", "asc", "--kappa", "nan", "-o", "{tmp}/p.json"], "--kappa: must be a finite number >= 0, got nan"),
    (["learn", "asc", "--epochs", "0", "-o", "{tmp}/p.json"], "--epochs: must be >= 1, got 0"),
    (["learn", "jscc", "--epochs", "-1", "-o", "{tmp}/p.json"], "--epochs: must be >= 1, got -1"),
    (["learn", "exits", "--size", "0", "-o", "{tmp}/p.json"], "--size: must be >= 1, got 0"),
    (["learn", "asc", "--limit", "0", "-o", "{tmp}/p.json"], "--limit: must be >= 1, got 0"),
    (["learn", "jscc", "--seed", "-3", "-o", "{tmp}/p.json"], "--seed: must be >= 0, got -3"),
])
def test_learn_checks_its_options_and_output_before_any_training(tmp_path, args, message):
    """Before, a directory as -o failed with a traceback after the training, and --kappa nan, --epochs 0
    wrote a meaningless profile (exit 0)."""
    r = cli(*[a.format(tmp=tmp_path) for a in args])
    assert r.code == 2 and r.err.strip().splitlines() == [f"error: {message.format(tmp=tmp_path)}"], r.err
    assert not (tmp_path / "p.json").exists()


def test_an_option_given_twice_is_refused_not_the_last_one_taken(tmp_path):
    out = tmp_path / "x.json"
    r = cli("generate", "multicell", "--set", "devices=3", "--set", "devices=4", "-o", out)
    assert r.code == 2 and r.err.strip() == "error: --set devices: given twice" and not out.exists()
    assert cli("generate", "multicell", "--set", "devices=3", "-o", out).code == 0
    r = cli("compare", out, "-a", "prop", "-a", "prop")
    assert r.code == 2 and r.err.strip() == "error: -a: 'prop' given twice"


@pytest.mark.parametrize("args, message", [
    (["rl", "train", "sbq", "--slots", "0", "-o", "{tmp}/x.pt"], "sbq: --slots: must be >= 1, got 0"),
    (["rl", "train", "sbq", "--general", "--max-users", "0", "-o", "{tmp}/x.pt"], "sbq: --max-users: must be >= 1, got 0"),
])
def test_counts_and_numbers_are_checked_before_any_work(tmp_path, args, message):
    """The fuzz audit: rl train drew its progress bar before the error line."""
    r = cli(*[a.format(tmp=tmp_path) for a in args])
    assert r.code == 2 and r.err.strip().splitlines() == [f"error: {message}"], r.err
    assert not list(tmp_path.iterdir())


def test_a_setting_without_a_default_takes_a_number_not_text():
    """The fuzz audit: ``generate("training", w_energy="0.5")`` was taken as text (only a file's name is)."""
    with pytest.raises(InputError, match="^training: w_energy: must be a number, got '0.5'"):
        semalloc.generate("training", seed=0, w_energy="0.5")


def test_a_python_callers_non_text_key_is_named_not_a_type_error():
    inst = semalloc.generate("multicell", seed=0, devices=3, base_stations=1)
    v = semalloc.solve(inst, "prop").variables
    with pytest.raises(InputError, match="^multicell: variables.3: field names must be text, got int"):
        semalloc.evaluate(inst, {**v, 3: 1})
