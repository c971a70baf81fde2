# The usual script: what users write before pagefold. asyncio + run_in_executor(None,
# requests.get, url) over every page URL, then a reduce over the JSON.
import asyncio
import collections
import json
import sys

import requests


async def main(base, pages, size):
    loop = asyncio.get_running_loop()
    urls = [f"{base}/orders?page={page}&per_page={size}" for page in range(1, pages + 1)]
    responses = await asyncio.gather(*(loop.run_in_executor(None, requests.get, url) for url in urls))
    count, total = 0, 0.0
    by_status, customers = collections.Counter(), collections.Counter()
    for response in responses:
        response.raise_for_status()
        for record in response.json()["data"]:
            count += 1
            total += record["amount"]
            by_status[record["status"]] += 1
            customers[record["customer"]] += 1
    print(json.dumps({"records": count, "revenue": total, "by_status": by_status, "top": customers.most_common(10)}))


asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
