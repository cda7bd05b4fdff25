package sysprosim

import (
	"encoding/json"
	"fmt"
	"os"
)

// LoadFixture reads a Seed from a JSON file whose keys are those of Seed's JSON tags, for example
//
//	{"customers":[{"customer":"C1","name":"Acme","creditLimit":"500.00"}],
//	 "stock":[{"stockCode":"S1","description":"Widget","stockUom":"EA","sellingPrice":"9.99",
//	           "warehouses":[{"warehouse":"FG","qtyOnHand":"10"}]}]}
//
// Amounts may be JSON strings or numbers; they are read as decimals either way.
func LoadFixture(path string) (Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, fmt.Errorf("sysprosim: read fixture: %w", err)
	}
	var seed Seed
	if err := json.Unmarshal(b, &seed); err != nil {
		return Seed{}, fmt.Errorf("sysprosim: parse fixture %s: %w", path, err)
	}
	return seed, nil
}
