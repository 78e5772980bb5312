// Carries ?next= (the page that asked for the token) into the form; the server only accepts
// same-site paths there.
const next = new URLSearchParams(location.search).get('next');
if (next && next.startsWith('/') && !next.startsWith('//')) document.getElementById('next').value = next;
if (new URLSearchParams(location.search).has('failed')) {
  const p = document.createElement('p');
  p.className = 'msg error';
  p.setAttribute('role', 'alert');
  p.textContent = 'Wrong token. · 令牌不对。';
  document.querySelector('.field').after(p);
}
