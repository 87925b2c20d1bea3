"""The 44-character access key (chave de acesso) of an NF-e/NFC-e: layout and check digit.

| positions | field   |            | positions | field    |
|-----------|---------|------------|-----------|----------|
| 1–2       | cUF     |            | 26–34     | nNF      |
| 3–6       | AAMM    |            | 35        | tpEmis   |
| 7–20      | CNPJ/CPF of the emitter | | 36–43 | cNF      |
| 21–22     | mod     |            | 44        | cDV      |
| 23–25     | serie   |            |           |          |

Positions 7–18 may hold letters since the alphanumeric CNPJ (July 2026); the check digit counts
each character as `ord(c) - 48`, so digits keep their value and letters go on from 17 ('A').
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from domain.fiscal.errors import InvalidKeyError

CHAVE_LENGTH = 44

# IBGE codes of the 27 federative units (the only valid cUF in a key).
UF_POR_CODIGO = MappingProxyType(
    {
        "11": "RO", "12": "AC", "13": "AM", "14": "RR", "15": "PA", "16": "AP", "17": "TO",
        "21": "MA", "22": "PI", "23": "CE", "24": "RN", "25": "PB", "26": "PE", "27": "AL",
        "28": "SE", "29": "BA", "31": "MG", "32": "ES", "33": "RJ", "35": "SP", "41": "PR",
        "42": "SC", "43": "RS", "50": "MS", "51": "MT", "52": "GO", "53": "DF",
    }
)  # fmt: skip
MODELOS = frozenset({"55", "65"})

_LAYOUT = re.compile(r"[0-9]{6}[A-Z0-9]{12}[0-9]{26}")
_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9)


@dataclass(frozen=True, slots=True)
class ChaveAcesso:
    """A validated access key; the fields are read from its positions."""

    valor: str

    def __str__(self) -> str:
        return self.valor

    @property
    def cuf(self) -> str:
        return self.valor[0:2]

    @property
    def uf(self) -> str:
        return UF_POR_CODIGO[self.cuf]

    @property
    def aamm(self) -> str:
        return self.valor[2:6]

    @property
    def ano(self) -> int:
        return 2000 + int(self.valor[2:4])

    @property
    def mes(self) -> int:
        return int(self.valor[4:6])

    @property
    def emitente(self) -> str:
        """The emitter's CNPJ, or its CPF left-padded with zeros to 14 characters."""
        return self.valor[6:20]

    @property
    def modelo(self) -> str:
        return self.valor[20:22]

    @property
    def serie(self) -> str:
        return self.valor[22:25]

    @property
    def numero(self) -> str:
        return self.valor[25:34]

    @property
    def tp_emis(self) -> str:
        return self.valor[34]

    @property
    def cnf(self) -> str:
        return self.valor[35:43]

    @property
    def cdv(self) -> str:
        return self.valor[43]


def digito_verificador(corpo: str) -> str:
    """The check digit (cDV) of the first 43 characters: mod 11, weights 2..9 from the right."""
    total = sum((ord(c) - 48) * _WEIGHTS[i % 8] for i, c in enumerate(reversed(corpo)))
    resto = total % 11
    return "0" if resto < 2 else str(11 - resto)


def parse_chave(text: str) -> ChaveAcesso:
    """Validate an access key (spaces allowed, as a DANFE prints it) or raise `InvalidKeyError`."""
    chave = re.sub(r"\s", "", text)
    if len(chave) != CHAVE_LENGTH:
        raise InvalidKeyError(
            chave, "tamanho", f"ela tem {len(chave)} caracteres, e uma chave tem {CHAVE_LENGTH}"
        )
    if not _LAYOUT.fullmatch(chave):
        raise InvalidKeyError(
            chave,
            "formato",
            "ela só pode ter números (e letras maiúsculas apenas nas posições 7 a 18, as do "
            "CNPJ alfanumérico)",
        )
    if chave[0:2] not in UF_POR_CODIGO:
        raise InvalidKeyError(chave, "uf", f"o código de UF {chave[0:2]} não existe")
    if not 1 <= int(chave[4:6]) <= 12:
        raise InvalidKeyError(chave, "mes", f"o mês {chave[4:6]} (posições 5–6) não existe")
    if chave[20:22] not in MODELOS:
        raise InvalidKeyError(
            chave, "modelo", f"o modelo {chave[20:22]} não é NF-e (55) nem NFC-e (65)"
        )
    if chave[34] == "0":
        raise InvalidKeyError(chave, "tp_emis", "o tipo de emissão (posição 35) é 0")
    esperado = digito_verificador(chave[:43])
    if chave[43] != esperado:
        raise InvalidKeyError(
            chave,
            "dv",
            f"o dígito verificador é {chave[43]}, mas pelos outros 43 caracteres deveria ser "
            f"{esperado}",
        )
    return ChaveAcesso(chave)
