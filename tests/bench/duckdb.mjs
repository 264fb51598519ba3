// The DuckDB peer: the same query as winagg's default (tumbling 60 s windows,
// count and sum(count) per shopid and region) over an NDJSON file.
import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const r = await c.runAndReadAll(`
  select count(*) from (
    select time_bucket(interval 60 second, ts::timestamp) as w, shopid, region,
           count(*) as orders, sum(count) as items
    from read_json('${process.argv[2]}', format='newline_delimited',
      columns={orderid:'VARCHAR', itemid:'BIGINT', shopid:'BIGINT', region:'VARCHAR', count:'BIGINT', ts:'VARCHAR'})
    group by all)`);
console.log(String(r.getRows()[0][0]));
