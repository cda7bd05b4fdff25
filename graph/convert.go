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

// page is one page of a connection, built from the size+1 rows a list query fetched.
type page[N any, E any] struct {
	edges    []E
	nodes    []N
	pageInfo *model.PageInfo
}

// newPage keeps the first size rows, turns each into a node and an edge, and works out pageInfo:
// the extra row, if there, only says that a next page exists.
func newPage[R any, N any, E any](rows []R, size int, after *string,
	node func(R) N, cursor func(R) string, edge func(cursor string, node N) E) page[N, E] {
	hasNext := len(rows) > size
	if hasNext {
		rows = rows[:size]
	}
	p := page[N, E]{
		edges:    make([]E, 0, len(rows)),
		nodes:    make([]N, 0, len(rows)),
		pageInfo: &model.PageInfo{HasPreviousPage: after != nil, HasNextPage: hasNext},
	}
	for i, r := range rows {
		n, c := node(r), cursor(r)
		p.edges = append(p.edges, edge(c, n))
		p.nodes = append(p.nodes, n)
		if i == 0 {
			p.pageInfo.StartCursor = &c
		}
		if i == len(rows)-1 {
			p.pageInfo.EndCursor = &c
		}
	}
	return p
}
