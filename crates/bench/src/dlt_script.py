# dlt side by side: dlt's REST client over the same pages as pagefold, with its page-number
# paginator, folding the benchmark's aggregates (count, sum, count_by, top_k) as pages arrive.
# Usage: dlt_script.py BASE_URL PER_PAGE; prints the result as JSON.
import collections
import json
import sys

from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator


def main(base, per_page):
    client = RESTClient(
        base_url=base,
        paginator=PageNumberPaginator(base_page=1, page_param="page", total_path="meta.total_pages"),
        data_selector="data",
    )
    count, total = 0, 0.0
    by_status, customers = collections.Counter(), collections.Counter()
    for page in client.paginate("/orders", params={"per_page": per_page}):
        for record in page:
            count += 1
            total += record["amount"]
            by_status[record["status"]] += 1
            customers[record["customer"]] += 1
    print(json.dumps({"records": count, "revenue": total, "by_status": by_status, "top": customers.most_common(10)}))


main(sys.argv[1], int(sys.argv[2]))
