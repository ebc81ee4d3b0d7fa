"""`supportctl volume …`: a large reseller's data loaded fast (PostgreSQL COPY) into each service's
database, for the scale benches (bench/scale*.py) and for trying the batch runs at volume. One
module per service database; each registers its command on `volume_app`."""

from services.cli.volume.app import volume_app
from services.cli.volume import billing as _billing  # noqa: F401 - registers `volume billing`
from services.cli.volume import entitlements as _entitlements  # noqa: F401 - registers `volume entitlements`
from services.cli.volume import tickets as _tickets  # noqa: F401 - registers `volume tickets`

__all__ = ["volume_app"]
