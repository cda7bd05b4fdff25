package graph

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
)

// The @hasRole directive, which audits mutations, is driven here the way gqlgen's generated code
// drives it: a field context, the directive, the resolver as next (mutation_test.go audits the
// real mutations over HTTP).
func TestEveryMutationIsAudited(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	q := db.New(pool)
	key, row, err := auth.CreateKey(context.Background(), q, "ops", auth.Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.Authenticate(context.Background(), q, key)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	d := &directives{queries: q, logger: slog.New(slog.NewTextHandler(&logs, nil))}

	mutation := func(ctx context.Context, object, name string, args map[string]any, need model.Role, resolve graphql.Resolver) error {
		ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: object, Args: args,
			Field: graphql.CollectedField{Field: &ast.Field{Name: name}}})
		_, err := d.hasRole(ctx, nil, resolve, need)
		return err
	}
	asOps := auth.WithPrincipal(context.Background(), p)
	done := func(ctx context.Context) (any, error) {
		AuditSubject(ctx, "fraud_review", 7)
		return true, nil
	}
	broken := func(ctx context.Context) (any, error) { return nil, errors.New("gateway timed out") }

	args := map[string]any{"id": "RnJhdWRSZXZpZXc6Nw", "decision": "ACCEPT"}
	if err := mutation(asOps, "Mutation", "decideFraudReview", args, model.RoleDashboard, done); err != nil {
		t.Fatal(err)
	}
	if err := mutation(asOps, "Mutation", "refundPayment", map[string]any{"id": "x"}, model.RoleFinance, done); err == nil {
		t.Fatal("a dashboard key refunded")
	}
	if err := mutation(asOps, "Mutation", "voidPayment", nil, model.RoleDashboard, broken); err == nil {
		t.Fatal("no error")
	}
	if err := mutation(context.Background(), "Mutation", "voidPayment", nil, model.RoleDashboard, done); err == nil {
		t.Fatal("a mutation without a key went through")
	}
	if err := mutation(asOps, "Query", "payments", nil, model.RoleDashboard, done); err != nil {
		t.Fatal(err)
	}

	entries, err := q.ListAuditLog(context.Background(), db.ListAuditLogParams{RowLimit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3 (reads and keyless attempts are not audited): %+v", len(entries), entries)
	}
	failed, refused, ok := entries[0], entries[1], entries[2]
	if ok.Action != "decideFraudReview" || ok.Outcome != AuditOK || ok.Actor != "ops" || *ok.ApiKeyID != row.ID ||
		*ok.SubjectType != "fraud_review" || *ok.SubjectID != 7 ||
		string(ok.Input) != `{"id": "RnJhdWRSZXZpZXc6Nw", "decision": "ACCEPT"}` {
		t.Errorf("done: %+v input %s", ok, ok.Input)
	}
	if refused.Action != "refundPayment" || refused.Outcome != AuditRefused || !strings.Contains(string(refused.Details), "forbidden") {
		t.Errorf("refused: %+v details %s", refused, refused.Details)
	}
	if failed.Action != "voidPayment" || failed.Outcome != AuditFailed || failed.Input != nil ||
		!strings.Contains(string(failed.Details), "gateway timed out") {
		t.Errorf("failed: %+v details %s", failed, failed.Details)
	}
	if !strings.Contains(logs.String(), "refused an unauthenticated mutation") {
		t.Errorf("the keyless attempt is not logged:\n%s", logs.String())
	}
}
