// `/` is the signup form too (CONTRACT.md), so it is the same page.
export { default, metadata } from '@/app/signup/page';
