package sync

import "testing"

func TestRedactCardNumbersMasksEveryPANAndNothingElse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`{"number":"4111111111111111"}`, `{"number":"XXXXXXXXXXXX1111"}`},
		// Two cards separated by one character: the second must not escape.
		{"4111111111111111,5555555555554444", "XXXXXXXXXXXX1111,XXXXXXXXXXXX4444"},
		{"card=378282246310005&x", "card=XXXXXXXXXXX0005&x"},
		// A Cybersource transaction id (22 digits) and a number failing Luhn stay as they are.
		{`"id":"6510049442466278803211"`, `"id":"6510049442466278803211"`},
		{"4111111111111112", "4111111111111112"},
		{"short 4111 and 123456789012", "short 4111 and 123456789012"},
		{"", ""},
	} {
		if got := redactCardNumbers(c.in); got != c.want {
			t.Errorf("redactCardNumbers(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
