package graph

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/vikstrous/dataloadgen"

	"github.com/payhub/payhub/graph/model"
)

// dbEnum is the stored spelling of a GraphQL enum value: PARTIALLY_REFUNDED → partially_refunded.
func dbEnum[E ~string](e E) string { return strings.ToLower(string(e)) }

func dbEnums[E ~string](es []E) []string {
	if es == nil {
		return nil
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = dbEnum(e)
	}
	return out
}

// one converts a single-row query result; no row is a null result, not an error.
func one[R any, V any](row R, err error, conv func(R) *V) (*V, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return conv(row), nil
}

// nilIfMissing turns a loader's not-found into a null result.
func nilIfMissing[V any](v V, err error) (V, error) {
	if errors.Is(err, dataloadgen.ErrNotFound) {
		var zero V
		return zero, nil
	}
	return v, err
}

// decodeIDOf reads a global ID that must name a row of typeName.
func decodeIDOf(typeName, id string) (int64, error) {
	got, rowID, err := model.DecodeGlobalID(id)
	if err != nil || got != typeName {
		return 0, badInput("invalid ID %q: expected the ID of a %s", id, typeName)
	}
	return rowID, nil
}

// trimPage splits the size+1 rows a list query fetched into the page and whether more follow.
func trimPage[R any](rows []R, size int) ([]R, bool) {
	if len(rows) > size {
		return rows[:size], true
	}
	return rows, false
}

func pageInfo(hasPrevious, hasNext bool) *model.PageInfo {
	return &model.PageInfo{HasPreviousPage: hasPrevious, HasNextPage: hasNext}
}

func setPageEnds(pi *model.PageInfo, n int, cursor func(int) string) {
	if n == 0 {
		return
	}
	first, last := cursor(0), cursor(n-1)
	pi.StartCursor, pi.EndCursor = &first, &last
}
