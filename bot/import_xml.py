"""`revendabot import-xml --client CNPJ PATH…`: bulk-load a client's XMLs from files, folders
and ZIPs, with a progress bar and a final summary. The operator acts as the system.

The exit code tells a script whether the folder really went in: 1 when any file was refused
(unless `--allow-refused`) and always 1 when no XML was accepted at all (a wrong folder, client
or encoding must not look like success). A file already stored counts as accepted: running the
same import again is not a failure."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from bot.cli_support import CommandError
from bot.cli_support import command_app as _app
from domain.documents import format_tax_id
from domain.fiscal import MAX_XML_BYTES, DocumentTooLargeError
from domain.fiscal.zipsafe import ZipLimits, ZipRefusedError, iter_members, open_zip
from domain.text import format_number, quantity
from services import fiscal_ingest
from services.errors import NotFound
from services.fiscal_ingest import CHUNK_SIZE, IncomingFile, IngestReport
from services.prepare_pool import PreparePool

# An operator's bulk load may be a year of NFC-e: far more than one API upload.
CLI_ZIP_LIMITS = ZipLimits(max_members=500_000, max_total_bytes=8 * 1024**3)
# Starting the workers costs about a second here, once: they pay off past a couple of chunks.
CLI_MIN_PARALLEL = 2 * CHUNK_SIZE
_WANTED = (".xml", ".zip")


@click.command("import-xml")
@click.option("--client", "client_doc", required=True, help="CNPJ/CPF do cliente.")
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=None,
    help="Processos que leem os XMLs em paralelo (padrão: os núcleos da máquina).",
)
@click.option(
    "--allow-refused",
    is_flag=True,
    help="Terminar com código 0 mesmo com arquivos recusados, desde que algum XML tenha sido "
    "aceito (para pastas mistas). Sem nenhum XML aceito o código é sempre 1.",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def import_xml(
    client_doc: str, workers: int | None, allow_refused: bool, paths: tuple[Path, ...]
) -> None:
    """Importar XMLs de NF-e/NFC-e (arquivos, pastas e ZIPs) para um cliente.

    O resumo final lista cada arquivo recusado com o motivo. Código de saída: 0 quando tudo foi
    aceito (um XML já guardado conta como aceito); 1 quando algum arquivo foi recusado ou quando
    nenhum XML foi aceito. Com --allow-refused, recusas não mudam o código se algum XML foi
    aceito.
    """

    app = _app()
    try:
        client = fiscal_ingest.client_by_documento(app.uow_factory(), client_doc)
    except NotFound as exc:
        raise CommandError(exc.message) from exc
    sources = list(_expand(paths))
    total = sum(_units(path) for path in sources)
    if total == 0:
        raise CommandError("Nenhum arquivo .xml ou .zip encontrado nos caminhos informados.")
    click.echo(f"Cliente: {client.razao_social} ({format_tax_id(client.documento)})")
    with click.progressbar(length=total, label="Importando XMLs", file=sys.stderr) as bar:
        report = fiscal_ingest.ingest(
            app.uow_factory(),
            client,
            _files(sources),
            via="cli",
            pool=PreparePool(workers or app.prepare_pool.workers, min_files=CLI_MIN_PARALLEL),
            on_file=lambda _outcome: bar.update(1),
        )
    _print_summary(report)
    failure = _failure(report, allow_refused=allow_refused)
    if failure is not None:
        raise CommandError(failure)


def _expand(paths: tuple[Path, ...]) -> Iterator[Path]:
    """Files as given, and the .xml/.zip files inside folders (sorted, recursively)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                found
                for found in path.rglob("*")
                if found.is_file() and found.suffix.lower() in _WANTED
            )
        else:
            yield path


def _is_zip(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _units(path: Path) -> int:
    """How many files a path holds (a ZIP's member count, from its central directory)."""
    if not _is_zip(path):
        return 1
    try:
        with open_zip(path.open("rb"), CLI_ZIP_LIMITS) as archive:
            return sum(1 for info in archive.infolist() if not info.is_dir())
    except ZipRefusedError:
        return 1


def _files(sources: list[Path]) -> Iterator[IncomingFile]:
    for path in sources:
        if _is_zip(path):
            yield from _zip_files(path)
        elif (size := path.stat().st_size) > MAX_XML_BYTES:
            yield IncomingFile(str(path), None, DocumentTooLargeError(size, MAX_XML_BYTES).message)
        else:
            yield IncomingFile(str(path), path.read_bytes())


def _zip_files(path: Path) -> Iterator[IncomingFile]:
    try:
        with path.open("rb") as file, open_zip(file, CLI_ZIP_LIMITS) as archive:
            for member in iter_members(archive, CLI_ZIP_LIMITS):
                yield IncomingFile(f"{path}/{member.name}", member.data, member.problem)
    except ZipRefusedError as exc:
        yield IncomingFile(str(path), None, exc.message)


def _print_summary(report: IngestReport) -> None:
    click.echo(f"Carregados: {format_number(report.carregados)}")
    click.echo(f"Duplicados: {format_number(report.duplicados)}")
    click.echo(f"Cancelamentos registrados: {format_number(report.cancelamentos)}")
    if report.ignorados:
        click.echo(f"Ignorados (não são XML): {format_number(report.ignorados)}")
    click.echo(f"Recusados: {format_number(report.recusados)}")
    for outcome in report.refusals:
        click.echo(f"  - {outcome.nome}: {outcome.motivo}")


def _accepted(report: IngestReport) -> int:
    """XMLs that are now stored: loaded, already there, or a cancellation applied."""
    return report.carregados + report.duplicados + report.cancelamentos


def _failure(report: IngestReport, *, allow_refused: bool) -> str | None:
    """Why the import must end with a non-zero code, or `None` when it succeeded."""
    recusados = quantity(report.recusados, "arquivo recusado", "arquivos recusados")
    if not _accepted(report):
        if report.recusados:
            return f"nenhum XML foi carregado: {recusados} (os motivos estão acima)."
        return "nenhum XML foi carregado: nenhum dos arquivos é um XML de NF-e/NFC-e."
    if report.recusados and not allow_refused:
        return (
            f"{recusados} (os motivos estão acima). Os demais foram carregados; corrija os "
            "recusados e rode de novo (o que já está guardado não se repete), ou use "
            "--allow-refused para aceitar uma pasta mista."
        )
    return None
