/* viewer_page_html.c — the tick viewer's page (see viewer_page.c): its style, its panels and
 * its script, one string per line, copied verbatim into every page so the page needs nothing
 * beside itself. The script parses the recording (record.h's format) and draws one step. */
#include "loop/observe/viewer_page.h"

#include <stddef.h>

const char *const viewer_page_style[] = {
    "<style>\n",
    "body{background:#000;color:#fff;font:22px/1.35 sans-serif;margin:12px}\n",
    "h1{font-size:26px;margin:0 0 8px}\n",
    "#bar{display:flex;gap:10px;align-items:center;flex-wrap:wrap;font-size:28px}\n",
    "#bar b{color:#ffd400}\n",
    "button,select,input{font:inherit;font-size:22px;background:#222;color:#fff;border:2px solid "
    "#fff}\n",
    "#steps{display:flex;gap:8px;margin:10px 0}\n",
    ".step{flex:1;border:3px solid #666;padding:6px 8px;color:#bbb;min-height:64px}\n",
    ".step.on{border-color:#ffd400;color:#000;background:#ffd400}\n",
    ".grid{display:grid;grid-template-columns:2fr 1fr 1fr;gap:10px}\n",
    ".panel{border:2px solid #888;padding:6px 10px}\n",
    ".panel h2{font-size:22px;margin:0 0 4px;color:#7fdbff}\n",
    "ol,ul{margin:0;padding-left:28px}\n",
    ".new{color:#2ecc40;font-weight:bold}.hot{color:#ffd400;font-weight:bold}\n",
    "#src{font:18px/1.3 monospace;white-space:pre;margin:0}\n",
    "#src .cur{background:#ffd400;color:#000}\n",
    "#keys{font-size:17px;color:#ccc}\n",
    "svg text{fill:#fff;font:bold 26px sans-serif}\n",
    "li.none{list-style:none}\n",
    "</style>\n",
    NULL,
};

const char *const viewer_page_body[] = {
    "<div id=\"bar\"><span>tick <b id=\"tick\">-</b> of <span id=\"ticks\">-</span></span>\n",
    "<span>clock <b id=\"clock\">-</b></span>\n",
    "<button id=\"pt\" title=\"previous tick\">&#8676; tick</button><button id=\"ps\" "
    "title=\"previous step\">&#8592; step</button>\n",
    "<button id=\"ns\" title=\"next step\">step &#8594;</button><button id=\"nt\" title=\"next "
    "tick\">tick &#8677;</button>\n",
    "<button id=\"play\">play</button><select id=\"speed\"><option "
    "value=\"2000\">slow</option><option value=\"900\" "
    "selected=\"selected\">medium</option><option value=\"300\">fast</option></select>\n",
    "<label>go to tick <input id=\"jump\" size=\"4\"/></label></div>\n",
    "<div id=\"steps\"><div class=\"step\" id=\"s1\">1. timeout</div><div class=\"step\" "
    "id=\"s2\">2. wait</div><div class=\"step\" id=\"s3\">3. queue woken</div><div class=\"step\" "
    "id=\"s4\">4. run batch</div></div>\n",
    "<div class=\"grid\"><div class=\"panel\"><h2>timer heap (the root fires first)</h2><div "
    "id=\"heap\"></div></div>\n",
    "<div class=\"panel\"><h2>ready queue, in the order the policy picks</h2><ol "
    "id=\"queue\"></ol><h2>batch</h2><ol id=\"batch\"></ol></div>\n",
    "<div class=\"panel\"><h2>watched descriptors</h2><ul id=\"fds\"></ul></div></div>\n",
    "<div class=\"panel\"><h2>running: <span id=\"task\">-</span></h2><pre "
    "id=\"src\"></pre></div>\n",
    "<p id=\"keys\">Keys: &#8594; or <b>n</b>: next step &#183; &#8592; or <b>p</b>: previous step "
    "&#183; &#8595; or PageDown: next tick &#183; &#8593; or PageUp: previous tick &#183; "
    "<b>space</b>: play/pause &#183; <b>+</b>/<b>-</b>: faster/slower &#183; Home/End: first/last "
    "tick &#183; <b>g</b>: go to a tick. The address may end in ?tick=N&amp;step=S.</p>\n",
    NULL,
};

const char *const viewer_page_script[] = {
    "(function(){\n",
    "var text=document.getElementById('recording').textContent;\n",
    "var ticks=[],t=null,snap=null,pick=null;\n",
    "text.split('\\n').forEach(function(line){\n",
    "  var f=line.split(' '),k=f[0];\n",
    "  function rest(i){return f.slice(i).join(' ');}\n",
    "  "
    "if(k==='T'){t={tick:+f[1],now:+f[2],moved:[],ready:[],picks:[],s1:{H:[],Q:[],F:[]},s3:null,N:"
    "0};ticks.push(t);snap=t.s1;return;}\n",
    "  if(!t)return;\n",
    "  if(k==='W'){t.timeout=+f[1];t.why=f[2];t.whyName=rest(3);}\n",
    "  else if(k==='H')snap.H.push({slot:+f[1],parent:+f[2],rel:+f[3],name:rest(4)});\n",
    "  else if(k==='Q')snap.Q.push(rest(1));\n",
    "  else if(k==='F')snap.F.push({fd:f[1],rw:f[2],queued:f[3]==='queued',name:rest(4)});\n",
    "  else if(k==='B'){t.returned=+f[1];t.after=+f[2];}\n",
    "  else if(k==='R')t.ready.push({fd:f[1],how:f[2]});\n",
    "  else if(k==='M')t.moved.push({kind:f[1],name:rest(2)});\n",
    "  else if(k==='N'){t.N=+f[1];t.s3={H:[],Q:[],F:[]};snap=t.s3;}\n",
    "  else if(k==='P'){pick={name:rest(1),before:null,after:null};t.picks.push(pick);}\n",
    "  else if(k==='K'&&pick)pick.before={state:f[1],at:f[2]};\n",
    "  else "
    "if(k==='A'&&pick)pick.after=f[1]==='gone'?{state:'ended',at:''}:f[1]==='callback'?null:{state:"
    "f[1],at:f[2]};\n",
    "});\n",
    "var srcs={};\n",
    "Array.prototype.forEach.call(document.querySelectorAll('pre.source'),function(p){srcs[p."
    "getAttribute('data-file')]=p.textContent.split('\\n');});\n",
    "var ti=0,si=0,timer=null;\n",
    "function nsteps(x){return 3+Math.max(1,x.picks.length);}\n",
    "function ms(ns){return (ns/1e6).toFixed(3)+' ms';}\n",
    "function el(id){return document.getElementById(id);}\n",
    "function clear(e){while(e.firstChild)e.removeChild(e.firstChild);}\n",
    "function li(list,txt,cls){var "
    "e=document.createElement('li');e.textContent=txt;if(cls)e.className=cls;list.appendChild(e);}"
    "\n",
    "function drawHeap(H){\n",
    "  var box=el('heap');clear(box);\n",
    "  if(!H.length){box.textContent='(empty)';return;}\n",
    "  var "
    "NS='http://www.w3.org/2000/"
    "svg',W=Math.max(760,Math.pow(2,Math.floor(Math.log2(H.length)))*190),levels=Math.floor(Math."
    "log2(H.length))+1,LH=84;\n",
    "  var "
    "svg=document.createElementNS(NS,'svg');svg.setAttribute('width','100%');svg.setAttribute('"
    "viewBox','0 0 '+W+' '+(levels*LH+10));\n",
    "  function pos(i){var "
    "d=Math.floor(Math.log2(i+1)),first=Math.pow(2,d)-1,n=Math.pow(2,d);return "
    "{x:(i-first+0.5)*W/n,y:d*LH+34,w:Math.min(230,W/n-10)};}\n",
    "  H.forEach(function(h){if(h.parent>=0){var "
    "a=pos(h.slot),b=pos(h.parent),l=document.createElementNS(NS,'line');\n",
    "    "
    "l.setAttribute('x1',a.x);l.setAttribute('y1',a.y);l.setAttribute('x2',b.x);l.setAttribute('y2'"
    ",b.y);l.setAttribute('stroke','#888');l.setAttribute('stroke-width','2');svg.appendChild(l);}}"
    ");\n",
    "  H.forEach(function(h){var p=pos(h.slot),r=document.createElementNS(NS,'rect');\n",
    "    "
    "r.setAttribute('x',p.x-p.w/"
    "2);r.setAttribute('y',p.y-34);r.setAttribute('width',p.w);r.setAttribute('height',68);r."
    "setAttribute('rx',8);\n",
    "    "
    "r.setAttribute('fill',h.rel<=0?'#8a6d00':'#003f7f');r.setAttribute('stroke','#fff');svg."
    "appendChild(r);\n",
    "    [[h.name,-6],[(h.rel<=0?'due ':'in ')+ms(h.rel),24]].forEach(function(s){var "
    "tx=document.createElementNS(NS,'text');\n",
    "      "
    "tx.setAttribute('x',p.x);tx.setAttribute('y',p.y+s[1]);tx.setAttribute('text-anchor','middle')"
    ";tx.textContent=s[0];svg.appendChild(tx);});});\n",
    "  box.appendChild(svg);\n",
    "}\n",
    "function whyText(x){\n",
    "  if(x.why==='ready')return 'callbacks are ready: timeout 0';\n",
    "  if(x.why==='stop')return 'stop requested: timeout 0';\n",
    "  if(x.why==='due')return 'the root, '+x.whyName+', is due: timeout 0';\n",
    "  if(x.why==='timer'){var rel=x.s1.H.length?x.s1.H[0].rel:x.timeout;return 'the root, "
    "'+x.whyName+', is due in '+ms(rel)+': timeout '+ms(x.timeout)+(x.timeout>rel?' (rounded up to "
    "the backend\\'s resolution)':'');}\n",
    "  return 'no timer: block until a descriptor is ready (timeout -1)';\n",
    "}\n",
    "function show(){\n",
    "  var x=ticks[ti];if(!x)return;\n",
    "  var step=Math.min(si,3),s=step<2||!x.s3?x.s1:x.s3,p=si>=3?x.picks[si-3]:null;\n",
    "  el('tick').textContent=x.tick;el('ticks').textContent=ticks[ticks.length-1].tick;\n",
    "  "
    "el('clock').textContent='+'+ms((step>=1&&x.after!==undefined?x.after:x.now)-ticks[0].now);\n",
    "  for(var i=0;i<4;i++){el('s'+(i+1)).className='step'+(i===step?' on':'');}\n",
    "  el('s1').textContent='1. timeout: '+whyText(x);\n",
    "  el('s2').textContent='2. wait: the backend returned '+x.returned+'; clock "
    "+'+ms(x.after-ticks[0].now)+(x.ready.length?' ('+x.ready.map(function(r){return 'fd '+r.fd+' "
    "'+r.how;}).join(', ')+')':'');\n",
    "  el('s3').textContent='3. queue woken: '+(x.moved.length?x.moved.map(function(m){return "
    "m.kind+' '+m.name;}).join(', '):'nothing due, nothing woken');\n",
    "  el('s4').textContent='4. run batch: N = '+x.N+(p?', pick '+(si-2)+': '+p.name:'');\n",
    "  drawHeap(s.H);\n",
    "  var q=el('queue');clear(q);\n",
    "  var movedNames=x.moved.map(function(m){return m.name;});\n",
    "  s.Q.forEach(function(n){li(q,n,step>=2&&movedNames.indexOf(n.split(' "
    "')[0])>=0?'new':'');});\n",
    "  if(!s.Q.length)li(q,'(empty)','none');\n",
    "  var b=el('batch');clear(b);\n",
    "  if(!x.picks.length)li(b,'(nothing ran)','none');\n",
    "  x.picks.forEach(function(pk,j){li(b,pk.name+(pk.before?' "
    "(task)':''),si-3===j?'hot':'');});\n",
    "  var fl=el('fds');clear(fl);\n",
    "  s.F.forEach(function(w){var rd=x.ready.some(function(r){return r.fd===w.fd;});\n",
    "    li(fl,'fd '+w.fd+' '+w.rw+' '+w.name+(step>=1&&rd?' : "
    "READY':''),step>=1&&rd?'hot':'');});\n",
    "  if(!s.F.length)li(fl,'(none)','none');\n",
    "  var src=el('src');clear(src);\n",
    "  if(p&&p.before){\n",
    "    el('task').textContent=p.name+': '+p.before.state+(p.before.at==='start'?' (not started "
    "yet)':' at '+p.before.at)+' \\u2192 '+(p.after?p.after.state+(p.after.at?' at "
    "'+p.after.at:''):'?');\n",
    "    var "
    "at=(p.after&&p.after.at?p.after:p.before).at,c=at.lastIndexOf(':'),file=at.slice(0,c),ln=+at."
    "slice(c+1),lines=srcs[file];\n",
    "    if(lines&&ln>0){for(var k=Math.max(1,ln-5);k<=Math.min(lines.length,ln+5);k++){var "
    "e=document.createElement('span');\n",
    "      e.textContent=(k+'    "
    "').slice(0,5)+lines[k-1]+'\\n';if(k===ln)e.className='cur';src.appendChild(e);}}\n",
    "  }else el('task').textContent=p?p.name+' (a callback)':'-';\n",
    "  "
    "if(location.search.indexOf('tick=')<0)history.replaceState(null,'','?tick='+x.tick+'&step='+("
    "si+1));\n",
    "}\n",
    "function go(d){si+=d;if(si<0){if(ti>0){ti--;si=nsteps(ticks[ti])-1;}else si=0;}\n",
    "  else if(si>=nsteps(ticks[ti])){if(ti<ticks.length-1){ti++;si=0;}else "
    "si=nsteps(ticks[ti])-1;}show();}\n",
    "function tick(d){ti=Math.max(0,Math.min(ticks.length-1,ti+d));si=0;show();}\n",
    "function jump(n){for(var i=0;i<ticks.length;i++)if(ticks[i].tick===n){ti=i;si=0;show();return "
    "true;}return false;}\n",
    "function "
    "play(){if(timer){clearInterval(timer);timer=null;el('play').textContent='play';return;}\n",
    "  "
    "el('play').textContent='pause';timer=setInterval(function(){if(ti===ticks.length-1&&si==="
    "nsteps(ticks[ti])-1)play();else go(1);},+el('speed').value);}\n",
    "el('ns').onclick=function(){go(1);};el('ps').onclick=function(){go(-1);};\n",
    "el('nt').onclick=function(){tick(1);};el('pt').onclick=function(){tick(-1);};el('play')."
    "onclick=play;\n",
    "el('speed').onchange=function(){if(timer){play();play();}};\n",
    "el('jump').onchange=function(){jump(+this.value);};\n",
    "document.addEventListener('keydown',function(e){if(e.target.tagName==='INPUT')return;var "
    "k=e.key;\n",
    "  if(k==='ArrowRight'||k==='n')go(1);else if(k==='ArrowLeft'||k==='p')go(-1);\n",
    "  else if(k==='ArrowDown'||k==='PageDown')tick(1);else "
    "if(k==='ArrowUp'||k==='PageUp')tick(-1);\n",
    "  else if(k===' ')play();else if(k==='Home'){ti=0;si=0;show();}else "
    "if(k==='End'){ti=ticks.length-1;si=0;show();}\n",
    "  else if(k==='g')el('jump').focus();\n",
    "  else if(k==='+'||k==='-'){var "
    "sp=el('speed');sp.selectedIndex=Math.max(0,Math.min(2,sp.selectedIndex+(k==='+'?1:-1)));sp."
    "onchange();}\n",
    "  else return;e.preventDefault();});\n",
    "var m=/[?&]tick=(\\d+)/.exec(location.search),ms2=/[?&]step=(\\d+)/.exec(location.search);\n",
    "if(!(m&&jump(+m[1])))show();\n",
    "if(ms2){si=Math.max(0,Math.min(nsteps(ticks[ti])-1,+ms2[1]-1));show();}\n",
    "})();\n",
    NULL,
};
