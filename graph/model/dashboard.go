package model

import "time"

// PaymentStats is what paymentStats was asked about: the window [From, To) and its bucket size.
// Its figures (groups, volume, reviewsPending, deadLetters, openAnomalies) are field resolvers,
// so each runs its query only when the client selects it.
type PaymentStats struct {
	From          time.Time
	To            time.Time
	BucketMinutes int
}
