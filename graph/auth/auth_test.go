package auth

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"testing"
)

func TestGeneratedKeysHaveTheDocumentedShape(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^phk_[A-Za-z0-9_-]{43}$`).MatchString(k.Key) || !wellFormed(k.Key) {
			t.Fatalf("key %q", k.Key)
		}
		if k.Prefix != k.Key[:12] {
			t.Errorf("prefix %q of %q", k.Prefix, k.Key)
		}
		if h := sha256.Sum256([]byte(k.Key)); !bytes.Equal(k.Hash, h[:]) {
			t.Errorf("hash of %q is not its SHA-256", k.Key)
		}
		if seen[k.Prefix] {
			t.Fatalf("prefix %q twice in 100 keys", k.Prefix)
		}
		seen[k.Prefix] = true
	}
	for _, bad := range []string{"", "phk_", "phk_short", "xyz_" + "A" + string(make([]byte, 42)),
		"phk_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "phk_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"} {
		if wellFormed(bad) {
			t.Errorf("%q is taken for a key", bad)
		}
	}
}

func TestParseRoleAndBearerToken(t *testing.T) {
	for in, want := range map[string]Role{"storefront": Storefront, "DASHBOARD": Dashboard, " Finance ": Finance, "admin": Admin} {
		if got, err := ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "shop", "viewer", "operator", "root"} {
		if _, err := ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) accepted", bad)
		}
	}
	for header, want := range map[string]string{"Bearer phk_x": "phk_x", "bearer  phk_y ": "phk_y"} {
		if got, ok := BearerToken(header); !ok || got != want {
			t.Errorf("BearerToken(%q) = %q, %v", header, got, ok)
		}
	}
	for _, bad := range []string{"", "Bearer", "Bearer ", "Basic phk_x", "phk_x"} {
		if got, ok := BearerToken(bad); ok {
			t.Errorf("BearerToken(%q) = %q", bad, got)
		}
	}
}
