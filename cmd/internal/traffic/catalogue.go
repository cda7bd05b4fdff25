package traffic

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// customer is a shopper as the billTo of a payment shows them. A business customer has a contact
// person too: Cybersource needs a first and last name on every card payment.
type customer struct {
	first, last, company string
	email, phone         string
	address1, city       string
	postcode             string
}

// regulars come back again and again; the first two are the SYSPRO seed customers 000001 and
// 000002 (by e-mail), the rest are consumers SYSPRO does not know yet.
var regulars = []customer{
	{first: "Megan", last: "Price", company: "Bayside Bikes", email: "accounts@bayside.example", phone: "01179 000001", address1: "1 Harbour Road", city: "Bristol", postcode: "BS1 1AA"},
	{first: "Dev", last: "Anand", company: "Outdoor World", email: "ap@outdoor.example", phone: "01539 000002", address1: "22 Fell Lane", city: "Kendal", postcode: "LA9 4QQ"},
	{first: "Ana", last: "Pereira", email: "ana.pereira@example.com", phone: "07700 900101", address1: "14 Mill Lane", city: "Bristol", postcode: "BS3 4TR"},
	{first: "Tom", last: "Hughes", email: "tom.hughes@example.com", phone: "07700 900102", address1: "88 Castle Street", city: "Cardiff", postcode: "CF10 1BS"},
	{first: "Priya", last: "Shah", email: "priya.shah@example.org", phone: "07700 900103", address1: "3 Rose Court", city: "Leicester", postcode: "LE1 6RP"},
	{first: "Owen", last: "Davies", email: "owen.davies@example.net", phone: "07700 900104", address1: "41 High Street", city: "Swansea", postcode: "SA1 1NW"},
	{first: "Grace", last: "Okafor", email: "grace.okafor@example.com", phone: "07700 900105", address1: "7 Elm Grove", city: "Manchester", postcode: "M14 5HL"},
	{first: "Liam", last: "Murphy", email: "liam.murphy@example.org", phone: "07700 900106", address1: "19 Quay Road", city: "Liverpool", postcode: "L3 4BE"},
}

// One-off shoppers are made up from these.
var (
	firstNames = []string{"Sam", "Jo", "Alex", "Chris", "Maya", "Noah", "Ella", "Ravi", "Zoe", "Ben", "Isla", "Kofi"}
	lastNames  = []string{"Jones", "Smith", "Patel", "Brown", "Wilson", "Taylor", "Khan", "Evans", "Walker", "Clarke"}
	streets    = []string{"Station Road", "Church Lane", "Park Avenue", "Victoria Street", "Green Lane", "Kings Road"}
	towns      = []struct{ city, postcode string }{
		{"London", "N1 9GU"}, {"Leeds", "LS1 4DY"}, {"York", "YO1 7HH"}, {"Bath", "BA1 1LZ"}, {"Norwich", "NR2 1NH"}, {"Exeter", "EX4 3SR"},
	}
)

// regularShare is the percentage of orders placed by a regular.
const regularShare = 70

func (g *Generator) pickCustomer() customer {
	if g.rng.IntN(100) < regularShare {
		return regulars[g.rng.IntN(len(regulars))]
	}
	first, last := firstNames[g.rng.IntN(len(firstNames))], lastNames[g.rng.IntN(len(lastNames))]
	town := towns[g.rng.IntN(len(towns))]
	return customer{
		first: first, last: last,
		email:    fmt.Sprintf("%s.%s%d@example.net", strings.ToLower(first), strings.ToLower(last), g.rng.IntN(1000)),
		phone:    fmt.Sprintf("07700 9%05d", g.rng.IntN(100000)),
		address1: fmt.Sprintf("%d %s", 1+g.rng.IntN(200), streets[g.rng.IntN(len(streets))]),
		city:     town.city, postcode: town.postcode,
	}
}

// item is a stock item of the SYSPRO seed (sysprosim.DefaultSeed, warehouse FG), at its selling price.
type item struct {
	code, name string
	price      decimal.Decimal
	weight     int // how often it is bought, relative to the others
	maxQty     int
}

var catalogue = []item{
	{code: "A100", name: "Bike helmet", price: decimal.RequireFromString("49.99"), weight: 40, maxQty: 2},
	{code: "B100", name: "Water bottle", price: decimal.RequireFromString("8.00"), weight: 40, maxQty: 4},
	{code: "C200", name: "Child seat", price: decimal.RequireFromString("120.00"), weight: 8, maxQty: 1}, // 3 on hand
	{code: "D300", name: "Tyre lever", price: decimal.RequireFromString("2.50"), weight: 12, maxQty: 3},  // none on hand
}

// unknownItem is what the shop sells that SYSPRO has never heard of.
var unknownItem = item{code: BadStockCode, name: "Mystery gadget", price: decimal.RequireFromString("15.00"), maxQty: 1}

func (l line) total() decimal.Decimal { return l.item.price.Mul(decimal.NewFromInt(int64(l.qty))) }

// pickLines chooses one to three distinct items; withUnknown adds the unknown stock code.
func (g *Generator) pickLines(withUnknown bool) []line {
	n := 1 + g.rng.IntN(3)
	var lines []line
	used := map[string]bool{}
	total := 0
	for _, it := range catalogue {
		total += it.weight
	}
	for len(lines) < n {
		pick := g.rng.IntN(total)
		var it item
		for _, c := range catalogue {
			if pick < c.weight {
				it = c
				break
			}
			pick -= c.weight
		}
		if used[it.code] {
			if len(used) == len(catalogue) {
				break
			}
			continue
		}
		used[it.code] = true
		lines = append(lines, line{item: it, qty: 1 + g.rng.IntN(it.maxQty)})
	}
	if withUnknown {
		lines = append(lines, line{item: unknownItem, qty: 1})
	}
	return lines
}
