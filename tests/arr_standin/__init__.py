"""A stand-in for the Radarr/Sonarr v3 API, as their source has it: every route needs the key
(query `apikey`, then `X-Api-Key`, then `Authorization: Bearer`), a wrong one gets 401 with
no body; `history/since` is a plain array filtered `date >= since` on stored dates (with
fractions), oldest first, dates written in whole seconds; `eventType` is a name (any case)
or a number, a bad one or a bad `date` gets a 400; null properties are left out; Radarr's
`/movie` embeds `movieFile`; Sonarr's `/episodefile` takes one `seriesId` and writes one
history record per episode; gzip when asked; HTTP/1.1 keep-alive."""

from tests.arr_standin.api import arr_date
from tests.arr_standin.arr import StandInArr

__all__ = ["StandInArr", "arr_date"]
