// The storage provider's bucket: uploaded avatars kept in memory so the welcome page and the
// E2E suite can load the image URL a worker was given back.
export interface StoredAvatar {
  bytes: Buffer;
  contentType: string;
}

export interface AvatarStore {
  put(name: string, avatar: StoredAvatar): void;
  get(name: string): StoredAvatar | undefined;
  clear(): void;
}

export function createAvatarStore(): AvatarStore {
  const avatars = new Map<string, StoredAvatar>();
  return {
    put: (name, avatar) => void avatars.set(name, avatar),
    get: (name) => avatars.get(name),
    clear: () => avatars.clear(),
  };
}
