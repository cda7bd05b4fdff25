# Payhub's everyday commands. `make test` is what CI runs.

.PHONY: run test bench generate dashboard

run:
	go run ./cmd/hub serve

test:
	go test -race -count=1 -timeout 40m ./...

bench:
	go test -run '^$$' -bench BenchmarkPaymentsConnection -benchtime 3s ./graph
	go test -run '^$$' -bench CybersourceWebhookIntake -benchtime 5000x ./sync
	go test -run '^$$' -bench PaymentsEndToEnd -benchtime 200x ./sync
	go test -run '^$$' -bench SubscriptionFanOut -benchtime 1x -timeout 30m ./graph
	go test -run '^$$' -bench ReconcileMillion -benchtime 1x ./sync/reconcile
	go test -run '^$$' -bench ReconcileStoredDayMillion -benchtime 1x -timeout 30m ./sync
	go test -run '^$$' -bench Observe -benchtime 3s ./sync/anomaly

generate:
	go generate ./db ./graph

# The dashboard: web/app's npm packages, then its production build into web/dist (committed, embedded).
dashboard:
	cd web/app && npm ci --no-audit --no-fund && npm run build
