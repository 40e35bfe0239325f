const fs=require('fs');
function report(label){
  const s=fs.readFileSync('/proc/self/smaps','utf8').split('\n');
  let cur=null; const out={};
  for(const l of s){
    const m=l.match(/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/);
    if(m){cur=(m[4]||'[anon]').replace(/.*\//,'')+' '+m[3]; continue;}
    const r=l.match(/^Rss:\s+(\d+)/); if(r&&cur){out[cur]=(out[cur]||0)+ +r[1];}
  }
  const tot=Object.values(out).reduce((a,b)=>a+b,0);
  console.log(label, 'total', (tot/1024).toFixed(1), Object.entries(out).filter(([k,v])=>v>1024).map(([k,v])=>k+':'+(v/1024).toFixed(1)).join(' | '));
}
report('bare');
const mods=process.argv.slice(2);
for(const m of mods){ require(m); report(m); }
