# Payhub's everyday commands. `make test` is what CI runs.

.PHONY: run test bench generate

run:
	go run ./cmd/hub serve

test:
	go test -race -count=1 ./...

bench:
	go test -run '^$$' -bench BenchmarkPaymentsConnection -benchtime 3s ./graph

generate:
	go generate ./db ./graph
