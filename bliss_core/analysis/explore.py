"""Non-UI helpers for the app's embedding-space page: which points to project, and how a
global point id maps back to an image, a class name or a dictionary entry.

Global ids: images are ``0..N-1`` (row in the bundle), class-name texts are ``N + c``,
dictionary entries are ``N + C + j``. They travel in plotly ``customdata`` so a box/lasso
selection can be listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.whatif import label_text


@dataclass
class JointPoints:
    points: np.ndarray  # [P, D] embeddings to project
    ids: np.ndarray  # [P] global ids
    modality: np.ndarray  # [P] image | label | class_text | dict
    text: list[str]  # hover text
    class_name: list[str]  # class of images; "normal label"/"class name"/"dictionary" for texts
    detail: list[str]  # the hover's second line: "cat · reference image", "normal label", ...


def joint_points(
    bundle,
    normal: Sequence[int],
    sample_size: int = 1500,
    dict_size: int = 400,
    include_other_classes: bool = True,
    seed: int = 0,
) -> JointPoints:
    """A reproducible sample of images plus the normal-label, class-name and dictionary texts."""
    rng = np.random.default_rng(seed)
    n, c, m = len(bundle.image_label), len(bundle.class_names), len(bundle.dict_names)
    img_idx = np.arange(n)
    if n > sample_size:
        img_idx = np.sort(rng.choice(n, size=int(sample_size), replace=False))
    dict_idx = np.arange(m)
    if m > dict_size:
        dict_idx = np.sort(rng.choice(m, size=int(dict_size), replace=False))
    normal = sorted({int(x) for x in normal})
    cls_idx = np.arange(c) if include_other_classes else np.asarray(normal, int)
    ids_img = bundle.image_names(img_idx)
    modality = (
        ["image"] * len(img_idx)
        + ["label" if k in normal else "class_text" for k in cls_idx]
        + ["dict"] * len(dict_idx)
    )
    text = (
        ids_img
        + [f'"{label_text(bundle, k)}"' for k in cls_idx]
        + [f'"{bundle.dict_names[j]}"' for j in dict_idx]
    )
    cls = (
        [bundle.class_names[bundle.image_label[i]] for i in img_idx]
        + ["normal label" if k in normal else "class name" for k in cls_idx]
        + ["dictionary entry"] * len(dict_idx)
    )
    detail = [
        f"{bundle.class_names[bundle.image_label[i]]} · {'reference' if bundle.image_is_train[i] else 'test'} image"
        for i in img_idx
    ] + cls[len(img_idx) :]
    points = np.vstack(
        [bundle.image_emb[img_idx], bundle.class_text_emb[cls_idx], bundle.dict_text_emb[dict_idx]]
    )
    ids = np.concatenate([img_idx, n + cls_idx, n + c + dict_idx]).astype(np.int64)
    return JointPoints(
        points=points.astype(np.float32),
        ids=ids,
        modality=np.asarray(modality),
        text=text,
        class_name=cls,
        detail=detail,
    )


def describe_ids(bundle, ids: Sequence[int]) -> list[dict]:
    """Rows (kind, name, class, split, global id) for selected global ids."""
    n, c = len(bundle.image_label), len(bundle.class_names)
    rows = []
    for g in ids:
        g = int(g)
        if 0 <= g < n:
            rows.append(
                {
                    "id": g,
                    "kind": "image",
                    "name": bundle.image_name(g),
                    "class": bundle.class_names[int(bundle.image_label[g])],
                    "split": "reference" if bundle.image_is_train[g] else "test",
                }
            )
        elif n <= g < n + c:
            rows.append(
                {
                    "id": g,
                    "kind": "class-name text",
                    "name": label_text(bundle, g - n),
                    "class": "",
                    "split": "",
                }
            )
        elif n + c <= g < n + c + len(bundle.dict_names):
            rows.append(
                {
                    "id": g,
                    "kind": "dictionary text",
                    "name": bundle.dict_names[g - n - c],
                    "class": "",
                    "split": "",
                }
            )
    return rows


def selected_ids(event) -> list[int]:
    """Global ids from a Streamlit plotly selection event (dict-like), in selection order."""
    if not event:
        return []
    try:
        sel = event["selection"] if "selection" in event else event
        points = sel.get("points", []) if hasattr(sel, "get") else sel["points"]
    except (KeyError, TypeError, AttributeError):
        return []
    out: list[int] = []
    for p in points or []:
        cd = p.get("customdata") if hasattr(p, "get") else None
        if cd is None:
            continue
        try:
            out.append(int(cd[0] if isinstance(cd, (list, tuple)) else cd))
        except (TypeError, ValueError, IndexError):
            continue
    return list(dict.fromkeys(out))
