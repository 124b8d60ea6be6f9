// usage: node probe-one.mjs <variant> ; runs 6 s, prints calls
const name = process.argv[2];
const mod = await import('./probe-bisect-lib.mjs');
const n = await mod.run(name, 6000);
console.log(name, 'calls', n.calls, 'cpu/call', n.cpu.toFixed(1));
process.exit(0);
