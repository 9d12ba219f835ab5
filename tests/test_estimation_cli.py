"""``python -m causal_core estimate``: JSON contract, N01 numbers, clusters, every bad input (exit 2, one line)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causal_core.cli import main

N01 = ["--covariates", "company_size,tenure_months,usage_score,prior_tickets,health_score,region,segment",
       "--categorical", "region,segment"]


def run_json(capsys, *argv: str) -> dict:
    assert main(["estimate", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def run_error(capsys, *argv: str) -> str:
    assert main(["estimate", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    return err


def test_retention_json_reproduces_n01(capsys):
    out = run_json(capsys, "--dataset", "retention", "--treatment", "outreach", "--outcome", "churn", *N01, "--no-refute")
    assert out["n_used"] == 6000 and out["dropped"] == {}
    estimates = {row["method"]: row for row in out["estimates"]}
    assert list(estimates) == ["naive", "regression", "gcomp", "ipw", "aipw"]
    assert set(estimates["aipw"]) >= {"method", "estimand", "estimate", "std_error", "ci_low", "ci_high"}
    rounded = {m: [round(estimates[m][k], 3) for k in ("estimate", "ci_low", "ci_high")] for m in estimates}
    assert rounded["naive"] == [0.078, 0.056, 0.101]
    assert rounded["regression"] == [-0.044, -0.067, -0.021]
    assert rounded["ipw"][0] == -0.046  # Hájek (N01 printed the Horvitz-Thompson -0.045)
    assert rounded["aipw"] == [-0.048, -0.068, -0.027]
    assert round(out["true_effect"], 3) == -0.046
    assert out["refutations"] == []
    assert out["sensitivity"]["sensemakr"]["benchmark"]["covariate"] == "health_score"
    assert "histogram" not in out["diagnostics"]["overlap"]
    assert round(out["balance"][0]["smd_before"], 3) == -0.779


def test_att_with_bootstrap_and_seed(capsys):
    out = run_json(capsys, "--dataset", "retention", *N01, "--estimand", "ATT", "--bootstrap", "60", "--seed", "9",
                   "--no-refute")
    assert out["estimand"] == "ATT" and round(out["true_effect"], 4) == -0.0598
    boot = [row for row in out["estimates"] if row["se_type"].startswith("bootstrap")]
    assert [row["method"] for row in boot] == ["ipw", "aipw"]
    assert out["diagnostics"]["bootstrap"]["completed"] == 60


def test_support_defaults_cluster_by_team_and_refutes(capsys):
    out = run_json(capsys, "--dataset", "support")
    assert out["cluster"] == "team_id" and out["n_used"] == 1244
    assert out["dropped"] == {"missing covariates (complete cases)": 24}
    regression = next(row for row in out["estimates"] if row["method"] == "regression")
    assert regression["se_type"] == "cluster-robust (90 clusters)" and round(regression["std_error"], 3) == 1.379
    # refutations run on every estimator row and name it (refutation.py); the DoWhy trio is among them
    assert {"placebo treatment", "random common cause", "data subsets"} <= {r["test"] for r in out["refutations"]}
    assert {r["method"] for r in out["refutations"] if r["test"] == "placebo treatment"} >= {"ipw", "aipw"}
    naive = next(row for row in out["estimates"] if row["method"] == "naive")
    assert naive["se_type"] == "cluster-robust (90 clusters)"  # the raw comparison is clustered too
    assert all(r["verdict"] in ("PASS", "WARN") and r["sentence"] for r in out["refutations"])
    plain = run_json(capsys, "--dataset", "support", "--no-cluster", "--no-refute")
    assert next(r for r in plain["estimates"] if r["method"] == "regression")["se_type"] == "HC3"


def test_text_output_is_a_readable_table(capsys):
    assert main(["estimate", "--dataset", "retention", *N01, "--no-refute"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == "ATE with n = 6,000 rows"
    assert "aipw" in text and "true ATE (simulation): -0.0463" in text
    assert "Benchmark: A confounder 1× as strong as health_score" in text
    assert "Refutations: None of these tests" not in text  # --no-refute: no refutation lines at all


def test_text_refutations_end_with_what_they_cannot_detect(capsys):
    assert main(["estimate", "--dataset", "retention", *N01]) == 0
    lines = capsys.readouterr().out.splitlines()
    refutations = [i for i, line in enumerate(lines) if line.startswith("Refutation: ")]
    assert refutations and lines[refutations[-1] + 1].startswith(
        "Refutations: None of these tests can detect an unmeasured confounder"
    )


def test_ineligible_covariates_are_named_in_the_warnings(capsys):
    out = run_json(capsys, "--dataset", "retention", "--covariates", "health_score,propensity_true", "--no-refute")
    assert any("'propensity_true' is ineligible" in w and "simulation truth" in w for w in out["warnings"])


@pytest.fixture()
def upload(tmp_path):
    rng = np.random.default_rng(1)
    n = 300
    x = rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-x)))
    frame = pd.DataFrame({"t": t, "y": x + 2 * t + rng.normal(size=n), "x": x, "g": rng.choice(["a", "b"], n),
                          "label": rng.choice(["good", "bad"], n)})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_upload_file_estimates(capsys, upload):
    out = run_json(capsys, "--data", str(upload), "--treatment", "t", "--outcome", "y", "--covariates", "x,g",
                   "--clip", "0.05,0.95", "--crossfit", "3", "--no-refute")
    assert out["n_used"] == 300 and out["true_effect"] is None
    aipw = next(row for row in out["estimates"] if row["method"] == "aipw")
    assert abs(aipw["estimate"] - 2) < 4 * aipw["std_error"] and "3-fold cross-fitted" in aipw["se_type"]
    assert out["diagnostics"]["overlap"]["clip"] == [0.05, 0.95]


def test_a_text_treatment_is_coded_by_the_treated_value_exactly_as_its_0_1_version(capsys, tmp_path, upload):
    frame = pd.read_csv(upload)
    frame["arm"] = np.where(frame["t"] == 1, "assistant", "control")
    path = tmp_path / "text_arm.csv"
    frame.to_csv(path, index=False)
    common = ["--outcome", "y", "--covariates", "x", "--no-refute"]
    coded = run_json(capsys, "--data", str(upload), "--treatment", "t", *common)
    mapped = run_json(capsys, "--data", str(path), "--treatment", "arm", "--treated-value", "assistant", *common)
    assert [row["estimate"] for row in mapped["estimates"]] == [row["estimate"] for row in coded["estimates"]]
    reversed_ = run_json(capsys, "--data", str(path), "--treatment", "arm", "--treated-value", "control", *common)
    assert reversed_["estimates"][0]["method"] == "naive"
    assert reversed_["estimates"][0]["estimate"] == pytest.approx(-coded["estimates"][0]["estimate"])
    err = run_error(capsys, "--data", str(path), "--treatment", "arm", "--treated-value", "treated", *common)
    assert err == "error: 'treated' is not a value of the treatment 'arm' (values: assistant, control)."
    err = run_error(capsys, "--data", str(path), "--treatment", "arm", *common)
    assert "must be coded 0/1; found non-numeric values" in err and "value that means treated" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--treatment", "t", "--outcome", "y", "--covariates", "x,zz"], "error: Unknown column(s): zz."),
        (["--treatment", "t", "--outcome", "label", "--covariates", "x"], "error: The outcome 'label' is not numeric"),
        (["--treatment", "g", "--outcome", "y", "--covariates", "x"], "error: The treatment 'g' must be coded 0/1"),
        (["--treatment", "t", "--outcome", "y"], "error: --covariates is required with --data"),
        (["--outcome", "y", "--covariates", "x"], "error: --treatment and --outcome are required with --data."),
        (["--treatment", "t", "--outcome", "y", "--covariates", "x", "--clip", "0.1"], "error: --clip must be two numbers"),
        (["--treatment", "t", "--outcome", "y", "--covariates", "x", "--clip", "0.7,0.9"], "error: Clip bounds must satisfy"),
        (["--treatment", "t", "--outcome", "y", "--covariates", "x", "--categorical", "g"],
         "error: --categorical names columns that are not covariates: g"),
        (["--treatment", "t", "--outcome", "y", "--covariates", "x", "--cluster", "nope"], "error: Unknown column(s): nope."),
    ],
)
def test_bad_inputs_exit_2_with_one_line(capsys, upload, argv, message):
    assert run_error(capsys, "--data", str(upload), *argv).startswith(message)


def test_too_few_treated_rows_is_refused_with_counts(capsys, tmp_path):
    frame = pd.DataFrame({"t": [1] * 4 + [0] * 60, "y": np.arange(64.0), "x": np.arange(64.0) % 7})
    path = tmp_path / "few.csv"
    frame.to_csv(path, index=False)
    err = run_error(capsys, "--data", str(path), "--treatment", "t", "--outcome", "y", "--covariates", "x")
    assert "4 treated and 60 control rows remain" in err


def test_missing_file_is_refused(capsys, tmp_path):
    err = run_error(capsys, "--data", str(tmp_path / "absent.csv"), "--treatment", "t", "--outcome", "y", "--covariates", "x")
    assert err == f"error: data file not found: {tmp_path / 'absent.csv'}"


# ---- public benchmarks through the CLI (issue 12) ----------------------------------------------------
NHEFS_TERMS = (
    "sex + race + age + I(age**2) + C(education) + smokeintensity + I(smokeintensity**2) + smokeyrs + I(smokeyrs**2)"
    " + C(exercise) + C(active) + wt71 + I(wt71**2)"
)


@pytest.fixture(scope="module")
def nhefs_csv(tmp_path_factory):
    from causaldata import nhefs

    frame = nhefs.load_pandas().data
    path = tmp_path_factory.mktemp("nhefs") / "nhefs.csv"
    frame[frame["wt82"].notna()].to_csv(path, index=False)
    return path


def test_nhefs_book_numbers_with_terms_interactions_and_the_books_se(capsys, nhefs_csv):
    common = ["--data", str(nhefs_csv), "--treatment", "qsmk", "--outcome", "wt82_71",
              "--covariates", "sex,race,age,education,smokeintensity,smokeyrs,exercise,active,wt71",
              "--terms", NHEFS_TERMS, "--interact", "smokeintensity", "--no-refute"]
    out = run_json(capsys, *common, "--ipw-se", "fixed_weights")
    rows = {row["method"]: row for row in out["estimates"]}
    assert out["n_used"] == 1566
    assert [round(rows["ipw"][k], 2) for k in ("estimate", "ci_low", "ci_high")] == [3.44, 2.41, 4.47]
    assert round(rows["regression"]["estimate"], 2) == 3.52
    assert rows["regression"]["label"] == "Regression standardisation (interactions qsmk:smokeintensity)"
    assert out["diagnostics"]["ipw"]["se"] == "fixed_weights"
    assert main(["estimate", *common]) == 0
    text = capsys.readouterr().out
    assert "IPW: Hájek (weights normalised within each arm). ATE: propensities clipped to [0.02, 0.98]" in text
    assert "(Regression standardisation (interactions qsmk:smokeintensity))" in text
    assert "Interval (naive): Interval for the raw difference in means" in text  # interval notes are printed
    assert rows["ipw"]["interval_note"] is not None and rows["ipw"]["interval_note"].startswith("Approximate")


def test_nsw_cps_att_with_defaults(capsys, tmp_path):
    from causaldata import cps_mixtape, nsw_mixtape

    nsw = nsw_mixtape.load_pandas().data
    frame = pd.concat([nsw[nsw["treat"] == 1], cps_mixtape.load_pandas().data], ignore_index=True)
    path = tmp_path / "nsw_cps.csv"
    frame.to_csv(path, index=False)
    out = run_json(capsys, "--data", str(path), "--treatment", "treat", "--outcome", "re78", "--estimand", "ATT",
                   "--covariates", "age,educ,black,hisp,marr,nodegree,re74,re75", "--no-refute")
    rows = {row["method"]: row for row in out["estimates"]}
    assert round(rows["ipw"]["estimate"]) == 1180 and round(rows["aipw"]["estimate"]) == 1271
    assert rows["regression"]["estimand"] == "constant effect"
    assert out["diagnostics"]["ipw"]["bounds"] == [0.0, 0.98]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--terms", "x + I(xx**2)"], "error: The outcome terms 'x + I(xx**2)' name unknown column(s): xx."),
        (["--propensity-terms", "x + I(3 * x)"],
         "error: The propensity terms make the design singular: I(3 * x) is a linear combination of x."),
        (["--interact", "g + nope"], "error: The treatment interactions 'g + nope' name unknown column(s): nope."),
        (["--ipw-se", "book"], None),
    ],
)
def test_bad_terms_exit_2_with_one_line(capsys, upload, argv, message):
    base = ["estimate", "--data", str(upload), "--treatment", "t", "--outcome", "y", "--covariates", "x,g", *argv]
    if message is None:  # argparse refuses an unknown choice itself
        with pytest.raises(SystemExit) as exit_:
            main(base)
        assert exit_.value.code == 2 and "invalid choice: 'book'" in capsys.readouterr().err
        return
    assert run_error(capsys, *base[1:]).startswith(message)


def test_constant_outcome_arm_and_empty_att_after_trimming_exit_2(capsys, tmp_path):
    rng = np.random.default_rng(3)
    t = np.repeat([1, 0], [60, 240])
    x = np.where(t == 1, rng.uniform(1, 3, 300), rng.uniform(-2, 0, 300))
    frame = pd.DataFrame({"t": t, "y": np.where(t == 1, x + rng.normal(size=300), 0.0), "y2": x + rng.normal(size=300),
                          "x": x})
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    common = ["--data", str(path), "--treatment", "t", "--covariates", "x"]
    err = run_error(capsys, *common, "--outcome", "y")
    assert err.startswith("error: The outcome 'y' is constant in the control arm (every one of its 240 rows is 0)")
    err = run_error(capsys, *common, "--outcome", "y2", "--estimand", "ATT", "--trim", "bounds", "--clip", "0.02,0.6")
    assert err.startswith("error: Trimming to propensities in [0.000, 0.600] removes every treated row (all 60 lie "
                          "outside)")
