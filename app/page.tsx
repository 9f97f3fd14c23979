// `/` is the signup form too (docs/operations.md, "HTTP routes"), so it is the same page.
export { default, metadata } from '@/app/signup/page';
