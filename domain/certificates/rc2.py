"""RC2 decryption (RFC 2268) for the legacy `pbeWithSHAAnd40BitRC2-CBC` bags of old PFX files.

`cryptography` only offers RC2 with 128-bit keys, while Windows and older OpenSSL exported the
certificates of many A1 files under 40-bit RC2. Decryption only: nothing here writes RC2.
"""

from __future__ import annotations

_PITABLE = bytes.fromhex(
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2"
    "179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82"
    "54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626"
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7"
    "08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec"
    "c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731"
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9"
    "0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad"
)
_SHIFTS = (1, 2, 3, 5)
_MASK = 0xFFFF


def _expand_key(key: bytes, effective_bits: int) -> list[int]:
    """The 64 16-bit subkeys for `key` limited to `effective_bits` (RFC 2268, section 2)."""
    size = len(key)
    effective_bytes = (effective_bits + 7) // 8
    top_mask = 0xFF % (1 << (8 + effective_bits - 8 * effective_bytes))
    expanded = bytearray(key) + bytearray(128 - size)
    for i in range(size, 128):
        expanded[i] = _PITABLE[(expanded[i - 1] + expanded[i - size]) % 256]
    expanded[128 - effective_bytes] = _PITABLE[expanded[128 - effective_bytes] & top_mask]
    for i in range(127 - effective_bytes, -1, -1):
        expanded[i] = _PITABLE[expanded[i + 1] ^ expanded[i + effective_bytes]]
    return [expanded[2 * i] | expanded[2 * i + 1] << 8 for i in range(64)]


def _decrypt_block(block: bytes, subkeys: list[int]) -> bytes:
    words = [int.from_bytes(block[i : i + 2], "little") for i in range(0, 8, 2)]
    j = 63

    def unmix() -> None:
        nonlocal j
        for i in (3, 2, 1, 0):
            shift = _SHIFTS[i]
            word = words[i]
            word = ((word >> shift) | (word << (16 - shift))) & _MASK
            word -= subkeys[j] + (words[i - 1] & words[i - 2]) + (~words[i - 1] & words[i - 3])
            words[i] = word & _MASK
            j -= 1

    def unmash() -> None:
        for i in (3, 2, 1, 0):
            words[i] = (words[i] - subkeys[words[i - 1] & 63]) & _MASK

    for rounds, mash in ((5, True), (6, True), (5, False)):
        for _ in range(rounds):
            unmix()
        if mash:
            unmash()
    return b"".join(word.to_bytes(2, "little") for word in words)


def rc2_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes, effective_bits: int) -> bytes:
    """Decrypt RC2-CBC; the caller removes the padding. Raises ValueError on a partial block."""
    if len(iv) != 8 or len(ciphertext) % 8:
        raise ValueError("RC2-CBC: o IV e o texto cifrado devem ter blocos de 8 bytes")
    subkeys = _expand_key(key, effective_bits)
    plain = bytearray()
    previous = iv
    for start in range(0, len(ciphertext), 8):
        block = ciphertext[start : start + 8]
        decrypted = _decrypt_block(block, subkeys)
        plain += bytes(a ^ b for a, b in zip(decrypted, previous, strict=True))
        previous = block
    return bytes(plain)
