"""Smoking → tar → cancer, with a hidden genotype H confounding smoking and cancer.

Run: python examples/smoking.py
"""

from causaldsl import FiniteType, ModelBuilder

YesNo = FiniteType("YesNo", ["no", "yes"])


def smoking_model():
    m = ModelBuilder("smoking")
    H = m.latent("H", YesNo, [0.5, 0.5])
    S = m.observed("S", YesNo, given=H, table={"no": [0.8, 0.2], "yes": [0.3, 0.7]})
    T = m.observed("T", YesNo, given=S, table={"no": [0.9, 0.1], "yes": [0.2, 0.8]})
    m.observed("C", YesNo, given=(T, H), table={
        ("no", "no"): [0.9, 0.1], ("no", "yes"): [0.6, 0.4],
        ("yes", "no"): [0.7, 0.3], ("yes", "yes"): [0.2, 0.8],
    })
    return m.build()


if __name__ == "__main__":
    model = smoking_model()
    print(model, end="\n\n")
    print(model.query("P(C | S = yes)"), end="\n\n")
    print(model.query("P(C | do(S = yes))"), end="\n\n")
    print(model.query("P(C | do(S))"), end="\n\n")
    ace = model.query("P(C = yes | do(S = yes)) - P(C = yes | do(S = no))")
    print(f"average causal effect of smoking on cancer: {ace:.4f}")
