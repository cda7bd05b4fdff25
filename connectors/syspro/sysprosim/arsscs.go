package sysprosim

import (
	"fmt"
	"strings"
)

// arsscs is ARSSCS, the AR customer setup: Setup/Add creates customers (an empty Key/Customer is
// auto-numbered), Setup/Update changes the fields present in the document. Output is lower-cased
// (setuparcustomer/item/key) with RecordsRead/RecordsInvalid counters, like other Setup objects.
func (s *Server) arsscs(c *boCall) string {
	add := c.method == "setup/add"
	items := c.doc.all("Item")
	errs := make([]*boError, len(items))
	anyInvalid := false
	for i, it := range items {
		code := it.get("Key", "Customer")
		_, exists := s.erp.customers[code]
		switch {
		case add && code != "" && exists:
			errs[i] = errf(ErrNoCustomerExists, "Customer '%s' already exists", code)
		case !add && code == "":
			errs[i] = errSpaces("Key", "Customer")
		case !add && !exists:
			errs[i] = errCustomerNotFound(code)
		case add && it.get("Name") == "":
			errs[i] = errSpaces("Item", "Name")
		}
		if errs[i] == nil && it.child("CreditLimit") != nil && it.get("CreditLimit") != "" {
			if _, e := parseMoney("Credit limit", it.get("CreditLimit")); e != nil {
				errs[i] = e
			}
		}
		anyInvalid = anyInvalid || errs[i] != nil
	}
	post := c.mayPost(anyInvalid)
	x := newXMLOut("setuparcustomer")
	invalid := 0
	for i, it := range items {
		code := it.get("Key", "Customer")
		if errs[i] == nil && post {
			code = s.saveCustomer(add, code, it)
		}
		x.open("item").open("key").leaf("customer", code).close()
		if errs[i] != nil {
			invalid++
			field := "customer"
			if strings.Contains(errs[i].Text, "'{Item}{Name}'") {
				field = "name"
			}
			x.fieldError(field, code, errs[i])
		}
		x.close()
	}
	x.open("StatusOfItems").leaf("RecordsRead", fmt.Sprint(len(items))).leaf("RecordsInvalid", fmt.Sprint(invalid))
	return x.String()
}

// saveCustomer applies one validated ARSSCS item and returns the customer code. The caller holds s.mu.
func (s *Server) saveCustomer(add bool, code string, it *xmlNode) string {
	cu := s.erp.customers[code]
	if add {
		for code == "" {
			code = fmt.Sprintf("C%05d", s.erp.nextCustomer)
			s.erp.nextCustomer++
			if _, taken := s.erp.customers[code]; taken {
				code = ""
			}
		}
		cu = &Customer{Customer: code, Currency: "GBP", Branch: "HQ"}
		s.erp.customers[code] = cu
	}
	set := func(field string, dst *string) {
		if it.child(field) != nil {
			*dst = it.get(field)
		}
	}
	set("Name", &cu.Name)
	set("Email", &cu.Email)
	set("Telephone", &cu.Telephone)
	set("Currency", &cu.Currency)
	set("Branch", &cu.Branch)
	set("ShipToAddr1", &cu.ShipAddress1)
	set("ShipPostalCode", &cu.ShipPostalCode)
	set("SoldToAddr1", &cu.SoldToAddr1)
	set("SoldToAddr2", &cu.SoldToAddr2)
	set("SoldToAddr3", &cu.SoldToAddr3)
	set("SoldToAddr4", &cu.SoldToAddr4)
	set("SoldToAddr5", &cu.SoldToAddr5)
	set("SoldPostalCode", &cu.SoldPostalCode)
	if v := it.get("CreditLimit"); v != "" {
		cu.CreditLimit, _ = parseMoney("Credit limit", v)
	}
	if it.child("CustomerOnHold") != nil {
		cu.OnHold = it.flag("CustomerOnHold")
	}
	return code
}
