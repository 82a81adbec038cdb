"""spaCy's attribute_ruler, applied by table look-up (same token attributes, ~8% faster
anonymization; tests/anonymize/test_engine.py checks it against spaCy's own ruler)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

__all__ = ["TableAttributeRuler", "install_table_ruler"]


def install_table_ruler(nlp) -> None:
    """Swap the model's attribute_ruler for a TableAttributeRuler of the same rules, in place
    and under the same name; leave it when its patterns use a feature the table lacks."""
    if "attribute_ruler" not in nlp.pipe_names:
        return
    from spacy.language import Language

    table = TableAttributeRuler.from_ruler(nlp.get_pipe("attribute_ruler"))
    if table is None:
        log.debug("attribute_ruler kept: a pattern uses a feature the table does not handle")
        return
    # spaCy adds components only through registered factories: one per table (a few per process).
    factory = f"fedft_table_attribute_ruler_{id(table):x}"
    Language.component(factory, func=table)
    nlp.replace_pipe("attribute_ruler", factory)


class TableAttributeRuler:
    """A spaCy AttributeRuler's rules applied by table look-up: the same token attributes at a
    fraction of the cost.

    The AttributeRuler runs a Matcher over all its patterns for every doc (179 in
    en_core_web_sm: tag -> POS + morph, word + tag -> lemma, ...), ~9% of fedft's anonymization
    time. Nearly all patterns test one token, so what they assign to a token depends only on that
    token's values of the few attributes the patterns test (a value no pattern names counts as
    "other"): computed once per distinct combination and cached. The few multi-token patterns
    ("gon na") are checked where their first token matches. As in the AttributeRuler, rules apply
    in the order they were added, later ones overriding earlier ones. `from_ruler` returns None
    when a pattern uses something the table does not handle (operators such as "OP", other
    predicates, extension attributes): keep the original ruler then.
    """

    _ATTRS = ("ORTH", "LOWER", "NORM", "TAG", "POS", "DEP", "LEMMA", "IS_SPACE")
    _REGEX_MEMO_MAX = 100_000

    def __init__(self, *, vocab, columns, attrs, single, multi, regexes):
        self.vocab = vocab
        self._columns = columns  # spaCy attribute IDs, one per slot of a token's key
        self._attrs = attrs  # rule ID -> normalized attributes to set
        self._single = single  # [(rule ID, checks)]; a check is (slot, op, argument)
        self._multi = multi  # [(rule ID, target index, [checks per token])]
        self._regexes = regexes  # slot -> compiled regexes tested on that attribute's text
        named: list[set[int]] = [set() for _ in columns]
        for checks in [c for _, c in single] + [c for _, _, ts in multi for c in ts]:
            for slot, op, arg in checks:
                if op == "eq":
                    named[slot].add(arg)
                elif op in ("in", "not_in"):
                    named[slot].update(arg)
        self._named = [frozenset(n) for n in named]
        self._memo: dict[tuple, tuple] = {}
        self._regex_memo: dict[tuple[int, int], tuple[bool, ...]] = {}

    @classmethod
    def from_ruler(cls, ruler) -> TableAttributeRuler | None:
        import re

        import spacy.attrs
        from spacy.strings import get_string_id

        slots: dict[str, int] = {}
        regexes: dict[int, list[re.Pattern]] = {}

        def compile_token(token: dict) -> list | None:
            checks = []
            for key, value in token.items():
                name = "ORTH" if key == "TEXT" else key
                if name not in cls._ATTRS:
                    return None
                slot = slots.setdefault(name, len(slots))
                is_bool = name == "IS_SPACE"
                if not isinstance(value, dict):
                    if isinstance(value, bool) != is_bool:
                        return None
                    checks.append((slot, "eq", int(value) if is_bool else get_string_id(value)))
                    continue
                for op, arg in value.items():
                    if op in ("IN", "NOT_IN") and not is_bool:
                        checks.append((slot, op.lower(), frozenset(map(get_string_id, arg))))
                    elif op == "REGEX" and not is_bool:
                        # As the Matcher's REGEX predicate: Python's re, search().
                        regexes.setdefault(slot, []).append(re.compile(arg))
                        checks.append((slot, "regex", len(regexes[slot]) - 1))
                    else:
                        return None
            return checks

        single, multi = [], []
        for rule_id, spec in enumerate(ruler.patterns):
            if "_" in spec["attrs"]:
                return None
            index = spec["index"]
            for pattern in spec["patterns"]:
                tokens = [compile_token(t) for t in pattern]
                if not tokens or any(c is None for c in tokens):
                    return None
                if not -len(tokens) <= index < len(tokens):
                    return None
                if len(tokens) == 1:
                    single.append((rule_id, tokens[0]))
                else:
                    multi.append((rule_id, index, tokens))
        columns = [getattr(spacy.attrs, n) for n in sorted(slots, key=slots.__getitem__)]
        return cls(
            vocab=ruler.vocab,
            columns=columns,
            attrs=list(ruler.attrs),
            single=single,
            multi=multi,
            regexes=regexes,
        )

    def _bucket(self, slot: int, value: int):
        if value in self._named[slot]:
            return value
        if slot not in self._regexes:
            return -1  # a value no pattern names: all such values behave alike
        key = (slot, value)
        found = self._regex_memo.get(key)
        if found is None:
            if len(self._regex_memo) >= self._REGEX_MEMO_MAX:
                self._regex_memo.clear()
            text = self.vocab.strings[value]
            found = tuple(rx.search(text) is not None for rx in self._regexes[slot])
            self._regex_memo[key] = found
        return found

    def _passes(self, checks, key) -> bool:
        for slot, op, arg in checks:
            value = key[slot]
            if op == "eq":
                ok = value == arg
            elif op == "in":
                ok = value in arg
            elif op == "not_in":
                ok = value not in arg
            elif isinstance(value, tuple):  # regex on a value no pattern names
                ok = value[arg]
            else:
                ok = self._regexes[slot][arg].search(self.vocab.strings[value]) is not None
            if not ok:
                return False
        return True

    def _merge(self, rule_ids) -> dict:
        merged: dict = {}
        for rule_id in sorted(rule_ids):
            merged.update(self._attrs[rule_id])
        return merged

    def _info(self, key: tuple) -> tuple:
        """(one-token rule IDs, their merged attributes, {(multi rule, position) that pass})."""
        info = self._memo.get(key)
        if info is None:
            ids = frozenset(
                rule_id for rule_id, checks in self._single if self._passes(checks, key)
            )
            flags = frozenset(
                (m, k)
                for m, (_, _, tokens) in enumerate(self._multi)
                for k, checks in enumerate(tokens)
                if self._passes(checks, key)
            )
            info = self._memo[key] = (ids, self._merge(ids), flags)
        return info

    def __call__(self, doc):
        from spacy.tokens._retokenize import set_token_attrs

        n = len(doc)
        if not n:
            return doc
        infos = [
            self._info(tuple(self._bucket(s, v) for s, v in enumerate(row)))
            for row in doc.to_array(self._columns).tolist()
        ]
        extra: dict[int, set[int]] = {}
        for start in range(n) if self._multi else ():
            if not infos[start][2]:
                continue
            for m, (rule_id, index, tokens) in enumerate(self._multi):
                end = start + len(tokens)
                if end <= n and all((m, k) in infos[start + k][2] for k in range(len(tokens))):
                    target = start + index if index >= 0 else end + index
                    extra.setdefault(target, set()).add(rule_id)
        for i, (ids, merged, _) in enumerate(infos):
            if i in extra:
                merged = self._merge(ids | extra[i])
            if merged:
                set_token_attrs(doc[i], merged)
        return doc
